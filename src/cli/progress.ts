// A progress line on stderr for long CLI commands: redrawn in place on a TTY at most every
// 200 ms, one line per 5 s otherwise (logs, CI).
export class Progress {
  private last = Date.now();
  private readonly tty = process.stderr.isTTY === true;
  constructor(
    private readonly label: string,
    private readonly text: () => string,
  ) {}

  tick(_n = 1): void {
    const now = Date.now();
    if (now - this.last < (this.tty ? 200 : 5000)) return;
    this.last = now;
    this.write();
  }

  private write(): void {
    const line = `${this.label}: ${this.text()}`;
    process.stderr.write(this.tty ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  done(): void {
    this.write();
    if (this.tty) process.stderr.write('\n');
  }
}
