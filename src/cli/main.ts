#!/usr/bin/env node
// The plantgate command: `run` starts the daemon; the others help commission and inspect it.

import { createRequire } from "node:module";
import { Command, Option } from "commander";
import { ORDERS, TABLES, TYPES } from "../config/schema.js";
import { checkConfigCommand, schemaCommand, statusCommand } from "./inspect.js";
import { integer, readCommand } from "./read.js";
import { DEFAULT_SCAN_TIMEOUT_MS, DEFAULT_UNITS, scanCommand } from "./scan.js";

// The daemon and the exporter load TensorFlow, SQLite and the rest only when asked for, so
// that commissioning commands start quickly.
const runCommand = async (opts: { config: string }) => (await import("./run.js")).runCommand(opts);
const exportCommand = async (opts: import("./export.js").ExportOptions) =>
  (await import("./export.js")).exportCommand(opts);
const modelsCommand = async (opts: { config: string; json?: boolean }) =>
  (await import("./models.js")).modelsCommand(opts);
// `--config` belongs to `models`; commander hands it over wherever it stands on the line.
const rollbackCommand = async (version: string, _opts: object, cmd: Command) =>
  (await import("./models.js")).rollbackCommand(version, cmd.optsWithGlobals());

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

const program = new Command()
  .name("plantgate")
  .version(version)
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

/** The flags that say how to reach a bus, for read and scan. */
function lineOptions(command: Command, serial: string): Command {
  return command
    .option("--host <host>", "Modbus TCP host")
    .option("--port <port>", "TCP port (default 502)", integer)
    .option("--rtu-over-tcp", "RTU frames over TCP (a serial device server)")
    .option(serial, "Modbus RTU on this serial port")
    .option("--baud <n>", "serial baud rate (default 9600)", integer)
    .addOption(new Option("--parity <p>", "serial parity").choices(["none", "even", "odd"]))
    .option("--data-bits <n>", "8, the only size Modbus RTU has (7 is Modbus ASCII)", integer)
    .option("--stop-bits <n>", "1 or 2 (default 1)", integer);
}

lineOptions(
  program
    .command("read")
    .description("read registers or bits once and print them decoded (commissioning)")
    .option("-c, --config <file>", "take the connection from this config file, with --device")
    .option("-d, --device <name>", "a device of the config: its connection, unit and base"),
  "--serial <path>",
)
  .option("-u, --unit <id>", "unit id (default 1, or the device's)", integer)
  .addOption(new Option("-t, --table <table>", "what to read").choices(TABLES).default(TABLES[3]))
  .requiredOption("-a, --address <n>", "first address (--device: in its addressBase)", integer)
  .option("-n, --count <n>", "values to read", integer, 1)
  .addOption(new Option("--type <type>", "uint16 default; bool for bits").choices(TYPES))
  .addOption(new Option("--order <order>", "byte order").choices(ORDERS).default("ABCD"))
  .option("--bit <n>", "type bit: the bit, 0 = least significant", integer)
  .option("--length <n>", "type string: its length in registers", integer)
  .option("--timeout <ms>", "response timeout (default 500, or the device's)", integer)
  .action(readCommand);

lineOptions(
  program
    .command("scan")
    .description("find the unit ids that answer on a bus")
    .option("--list-ports", "list the serial ports of this machine"),
  "--serial [path]",
)
  .option("--units <list>", "unit ids to try, like 1-10,17", DEFAULT_UNITS)
  .option("--timeout <ms>", `per unit (default ${DEFAULT_SCAN_TIMEOUT_MS})`, integer)
  .action(scanCommand);

program
  .command("export")
  .description("write buffered readings or rollups as CSV or JSON Lines, streamed")
  .requiredOption("-c, --config <file>", "config file", "/etc/plantgate/plantgate.yaml")
  .option("--tags <list>", "comma-separated tag names (default: all)")
  .option("--from <time>", "first time, ISO 8601 (UTC without an offset) or epoch ms; inclusive")
  .option("--to <time>", "last time, ISO 8601 (UTC without an offset) or epoch ms; exclusive")
  .addOption(
    new Option("-f, --format <format>", "output format").choices(["csv", "jsonl"]).default("csv"),
  )
  .option("-o, --output <file>", "write here instead of stdout")
  .option("--include-bad", "also export bad readings (gaps)")
  .option("--rollup", "export the rollup buckets (count, bad, min, mean, max per tag)")
  .action(exportCommand);

const models = program
  .command("models")
  .description("list the trained model versions; * marks the current one")
  .requiredOption("-c, --config <file>", "config file", "/etc/plantgate/plantgate.yaml")
  .option("--json", "print raw JSON")
  .action(modelsCommand);

models
  .command("rollback <version>")
  .description("make a version current (with models' --config); a running daemon loads it")
  .action(rollbackCommand);

await program.parseAsync();
