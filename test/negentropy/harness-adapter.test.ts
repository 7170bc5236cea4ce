// Plays the negentropy reference test harness against two harness-adapter.mjs processes
// (initiator and responder): items, seal, initiate, relay messages until done, then checks the
// reported have/need against the true set differences and every message against the frame limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertSameSet, makeSets, type Pair } from './helpers.js';

// compiled into dist/test/negentropy/, the adapter stays in test/negentropy/
const ADAPTER = fileURLToPath(new URL('../../../test/negentropy/harness-adapter.mjs', import.meta.url));

class Adapter {
  private readonly proc: ChildProcessWithoutNullStreams;
  private buf = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private exited: number | null = null;
  stderr = '';

  constructor(limit: number | undefined) {
    const env = { ...process.env };
    delete env.FRAMESIZELIMIT;
    if (limit !== undefined) env.FRAMESIZELIMIT = String(limit);
    this.proc = spawn(process.execPath, [ADAPTER], { env, stdio: 'pipe' });
    this.proc.stdin.on('error', () => {}); // EPIPE after the adapter exits on bad input
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (chunk: string) => {
      this.buf += chunk;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(this.buf.slice(0, nl));
        this.buf = this.buf.slice(nl + 1);
      }
      this.wake();
    });
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.proc.on('exit', (code) => {
      this.exited = code ?? -1;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  send(lines: string): void {
    this.proc.stdin.write(lines);
  }

  async line(): Promise<string> {
    while (this.lines.length === 0) {
      if (this.exited !== null) throw new Error(`adapter exited (${this.exited}): ${this.stderr}`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    return this.lines.shift() as string;
  }

  async close(): Promise<number> {
    this.proc.stdin.end();
    while (this.exited === null) await new Promise<void>((resolve) => (this.waiter = resolve));
    return this.exited;
  }
}

function itemLines(pairs: Pair[]): string {
  return pairs.map(([t, id]) => `item,${t},${id}\n`).join('') + 'seal\n';
}

/** One reconciliation between two adapter processes; each side's messages must respect its own limit. */
async function play(a: Pair[], b: Pair[], limit: number | undefined, resLimit: number | undefined = limit) {
  const ini = new Adapter(limit);
  const res = new Adapter(resLimit);
  try {
    ini.send(itemLines(a));
    res.send(itemLines(b));
    ini.send('initiate\n');
    const have: string[] = [];
    const need: string[] = [];
    let line = await ini.line();
    let rounds = 0;
    while (true) {
      assert.match(line, /^msg,[0-9a-f]+$/, `initiator said ${line.slice(0, 80)}`);
      if (limit) assert.ok((line.length - 4) / 2 <= limit, 'initiator message over the frame limit');
      res.send(line + '\n');
      const reply = await res.line();
      assert.match(reply, /^msg,[0-9a-f]+$/);
      if (resLimit) assert.ok((reply.length - 4) / 2 <= resLimit, 'responder message over the frame limit');
      ini.send(reply + '\n');
      rounds++;
      for (;;) {
        line = await ini.line();
        if (line.startsWith('have,')) have.push(line.slice(5));
        else if (line.startsWith('need,')) need.push(line.slice(5));
        else break;
      }
      if (line === 'done') break;
    }
    assert.equal(await ini.close(), 0, ini.stderr);
    assert.equal(await res.close(), 0, res.stderr);
    return { have, need, rounds };
  } finally {
    await Promise.all([ini.close(), res.close()]);
  }
}

for (const limit of [undefined, 4096]) {
  test(`harness protocol, FRAMESIZELIMIT ${limit ?? 'unset'}`, async () => {
    let seed = limit ?? 1;
    for (const [n, d, ts] of [
      [0, 0, 'spread'],
      [1, 1, 'spread'],
      [40, 0.5, 'spread'],
      [3000, 0.1, 'few'],
      [20000, 0.02, 'spread'],
      [5000, 1, 'spread'],
    ] as const) {
      const sets = makeSets(n, d, seed++, ts);
      const r = await play(sets.a, sets.b, limit);
      assertSameSet(r.have, sets.onlyA, `have n=${n} d=${d}`);
      assertSameSet(r.need, sets.onlyB, `need n=${n} d=${d}`);
    }
  });
}

// A frame limit bounds what a side sends, not what it accepts: sides with different limits (the
// harness pairs implementations that way) must reconcile completely, in both directions.
for (const [x, y] of [
  [60000, 500000],
  [4096, undefined],
] as const) {
  for (const [iniLimit, resLimit] of [
    [x, y],
    [y, x],
  ]) {
    test(`harness protocol, initiator FRAMESIZELIMIT ${iniLimit ?? 'unset'} ↔ responder ${resLimit ?? 'unset'}`, async () => {
      let seed = 7000 + (iniLimit ?? 1) + 3 * (resLimit ?? 1);
      for (const [n, d] of [
        [20000, 0.05],
        [5000, 1],
      ] as const) {
        const sets = makeSets(n, d, seed++, 'spread');
        const r = await play(sets.a, sets.b, iniLimit, resLimit);
        assertSameSet(r.have, sets.onlyA, `have n=${n} d=${d}`);
        assertSameSet(r.need, sets.onlyB, `need n=${n} d=${d}`);
      }
    });
  }
}

test('harness protocol: responder answers another version with msg,61; bad input exits non-zero', async () => {
  const res = new Adapter(undefined);
  res.send('item,1,' + 'ab'.repeat(32) + '\n\nseal\n');
  res.send('msg,62\n');
  assert.equal(await res.line(), 'msg,61');
  res.send('msg,50\n');
  assert.equal(await res.line(), 'msg,61');
  res.send('msg,6100000200\n');
  assert.equal(await res.line(), 'msg,6100000201' + 'ab'.repeat(32));
  assert.equal(await res.close(), 0);
  const bad = new Adapter(undefined);
  bad.send('seal\nmsg,61zz\n');
  assert.notEqual(await bad.close(), 0);
  assert.match(bad.stderr, /invalid hex/);
});
