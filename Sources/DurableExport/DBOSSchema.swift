/// The DBOS system schema the export writes into: its name, version check and creation.
public struct DBOSSchema: Sendable, Equatable {
    /// The schema version DBOS 3.4.0 expects (`dbos_migrations.version`).
    public static let version = 125

    /// The schema's name (DBOS's default is `dbos`).
    public let name: String

    /// A schema name; any text without NUL is accepted and quoted.
    public init(name: String = "dbos") throws {
        guard !name.isEmpty, !name.utf8.contains(0), name.utf8.count <= 63 else {
            throw ExportError(.invalidOption, "the schema name must be 1 to 63 bytes without NUL")
        }
        self.name = name
    }

    /// The schema as a quoted SQL identifier.
    public var identifier: String { SQLText.identifier(name) }

    /// `table` qualified with the schema.
    public func qualified(_ table: String) -> String { "\(identifier).\(SQLText.identifier(table))" }

    /// Statements that create the schema at version 125 unless a DBOS schema is already there.
    ///
    /// Creates `dbos_migrations` if missing; if it holds no version yet, creates every table,
    /// index, function and trigger DBOS 3.4.0 would and records version 125, all in the
    /// transaction that loads the rows. An existing schema is left as it is (``versionCheck``
    /// then refuses one that is too old).
    public var creation: String { creationStatements.map { $0 + ";\n" }.joined() + "\n" }

    /// ``creation`` as separate statements, for a client that sends one statement at a time.
    public var creationStatements: [String] {
        let ddl = Self.version125DDL.replacingAll("{{schema}}", with: identifier)
        return [
            "CREATE SCHEMA IF NOT EXISTS \(identifier)",
            "CREATE TABLE IF NOT EXISTS \(qualified("dbos_migrations")) (version bigint NOT NULL PRIMARY KEY)",
            """
            DO $durable_schema$
            BEGIN
                IF EXISTS (SELECT 1 FROM \(qualified("dbos_migrations"))) THEN
                    RETURN;
                END IF;
                IF to_regclass(\(SQLText.literal(qualified("workflow_status")))) IS NOT NULL THEN
                    RAISE EXCEPTION 'swift-durable: schema % has DBOS tables but no dbos_migrations version; run dbos migrate on it first', \(SQLText.literal(name));
                END IF;
            \(ddl)
                INSERT INTO \(qualified("dbos_migrations")) (version) VALUES (\(Self.version));
            END
            $durable_schema$
            """,
        ]
    }

    /// A statement that fails the load, naming the problem, unless the schema exists at version
    /// 125 or later.
    public var versionCheck: String {
        """
        DO $durable_check$
        DECLARE found_version bigint;
        BEGIN
            IF to_regclass(\(SQLText.literal(qualified("dbos_migrations")))) IS NULL THEN
                RAISE EXCEPTION 'swift-durable export: no DBOS system schema %: export with --create-schema, or create it with dbos migrate', \(SQLText.literal(name));
            END IF;
            EXECUTE 'SELECT max(version) FROM ' || \(SQLText.literal(qualified("dbos_migrations"))) INTO found_version;
            IF found_version IS NULL OR found_version < \(Self.version) THEN
                RAISE EXCEPTION 'swift-durable export: DBOS schema % is at version %, older than \(Self.version); upgrade it with dbos migrate', \(SQLText.literal(name)), coalesce(found_version::text, 'none');
            END IF;
        END
        $durable_check$;

        """
    }
}

extension String {
    /// Every occurrence of `target` replaced by `replacement` (no Foundation needed).
    func replacingAll(_ target: String, with replacement: String) -> String {
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
