// Starts `ktasm lsp` (the setting ktasm.command) for .kta files over stdio.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("ktasm").get("command");
  client = new LanguageClient(
    "ktasm",
    "ktasm language server",
    { command, args },
    { documentSelector: [{ scheme: "file", language: "kta" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
