// Whether an open serial port's device node is still there, for the Modbus RTU line and the
// serial ASCII sensors alike.
//
// Workaround: after a USB adapter is unplugged, the hung-up tty returns zero-byte reads,
// which @serialport/bindings-cpp retries forever instead of reporting a disconnect
// (serialport/bindings-cpp#162), so no close event comes until the next write fails, and a
// port that is only read from (a sensor) never writes. The device node disappears with the
// adapter, so watching the path notices the loss.
//
// LIMITATION: an adapter replugged within one check onto the same device number goes
// unnoticed until a write fails with EIO, which node-serialport does report; a port that is
// only read from stays on the dead node until then. Watching udev events would lift it.

import { stat } from "node:fs/promises";

const DEFAULT_PRESENCE_CHECK_MS = 1000;

export interface PresenceWatch {
  stop(): void;
}

/**
 * Watches `path`, just opened: calls `gone` once, with why, when the path vanishes or leads
 * to another device node than now (a replugged adapter gets a new one). Stops by itself then.
 */
export async function watchPresence(
  path: string,
  gone: (reason: string) => void,
  everyMs = DEFAULT_PRESENCE_CHECK_MS,
): Promise<PresenceWatch> {
  const { rdev } = await stat(path).catch(() => ({ rdev: -1 }));
  let stopped = false;
  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    const now = await stat(path).catch(() => undefined);
    checking = false;
    if (stopped || (now !== undefined && now.rdev === rdev)) return;
    watch.stop();
    gone(now === undefined ? "device path vanished" : "device node replaced");
  };
  const timer = setInterval(() => void check(), everyMs);
  // A watch must not keep the process alive on its own.
  timer.unref();
  const watch: PresenceWatch = {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
  return watch;
}
