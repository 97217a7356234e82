import DurableCLI

await DurableCommand.runAsMain()
