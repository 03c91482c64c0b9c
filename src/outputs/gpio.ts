// Outputs reach hardware through a small GPIO interface, so the daemon runs the same on a
// Raspberry Pi (onoff) and on a machine without GPIO (the virtual driver).

export type Level = 0 | 1;

export interface GpioLine {
  write(level: Level): Promise<void>;
  release(): Promise<void>;
}

export interface GpioDriver {
  readonly kind: "onoff" | "virtual";
  open(name: string, gpio: number, initial: Level): Promise<GpioLine>;
}
