#!/usr/bin/env node
// The plantgate command: `run` starts the daemon; the others help commission and inspect it.

import { Command } from "commander";
import { checkConfigCommand, schemaCommand, statusCommand } from "./inspect.js";
import { runCommand } from "./run.js";

const program = new Command()
  .name("plantgate")
  .description("Edge gateway: polls Modbus devices, buffers readings, learns, raises alarms")
  .showHelpAfterError();

program
  .command("run")
  .description("start the daemon")
  .requiredOption("-c, --config <file>", "config file", "/etc/plantgate/plantgate.yaml")
  .action(runCommand);

program
  .command("check-config")
  .description("validate a config file and list every problem")
  .requiredOption("-c, --config <file>", "config file", "/etc/plantgate/plantgate.yaml")
  .action(checkConfigCommand);

program.command("schema").description("print the config's JSON Schema").action(schemaCommand);

program
  .command("status")
  .description("ask the running daemon for its health, rule states and latest values")
  .requiredOption("-c, --config <file>", "config file", "/etc/plantgate/plantgate.yaml")
  .option("--json", "print raw JSON")
  .action(statusCommand);

await program.parseAsync();
