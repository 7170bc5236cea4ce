// Tests for src/crypto: the NIP-01 id serialisation, every backend that loads here on the main
// thread and in workers, rejection of tampered and malformed events, batch ordering, worker
// failure, 'auto' selection and fallback, and clean process exit.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { getEventHash, serializeEvent } from 'nostr-tools/pure';
import { AUTO_ORDER, availableBackends, SELF_TEST_EVENT, type VerifyBackendName } from '../../src/crypto/backends.js';
import { decodeHexInto } from '../../src/crypto/serialize.js';
import { autoWorkers, createVerifier, serializeForId, type Verifier } from '../../src/crypto/verify.js';
import type { NostrEvent } from '../../src/nostr/event.js';
import { generateNotes, benchKeys, signEvent } from '../../bench/generator.js';

const events = generateNotes(60, 7);
const backends = await availableBackends();
const verifyJs = fileURLToPath(new URL('../../src/crypto/verify.js', import.meta.url));

function flipHex(s: string, at = 0): string {
  const c = s[at] === '0' ? '1' : '0';
  return s.slice(0, at) + c + s.slice(at + 1);
}

/** Valid-looking events that must all be rejected. */
function badEvents(good: NostrEvent, other: NostrEvent): [string, unknown][] {
  return [
    ['tampered id', { ...good, id: flipHex(good.id, 10) }],
    ['tampered content', { ...good, content: good.content + ' ' }],
    ['tampered tags', { ...good, tags: [...good.tags, ['t', 'x']] }],
    ['tampered created_at', { ...good, created_at: good.created_at + 1 }],
    ['tampered sig', { ...good, sig: flipHex(good.sig, 70) }],
    ['sig of another event', { ...good, sig: other.sig }],
    ['wrong pubkey (valid key)', { ...good, pubkey: other.pubkey, id: getEventHash({ ...good, pubkey: other.pubkey }) }],
    ['pubkey not on the curve', { ...good, pubkey: 'ff'.repeat(32), id: getEventHash({ ...good, pubkey: 'ff'.repeat(32) }) }],
    ['uppercase id', { ...good, id: good.id.toUpperCase() }],
    ['uppercase sig', { ...good, sig: good.sig.toUpperCase() }],
    ['uppercase pubkey', { ...good, pubkey: good.pubkey.toUpperCase() }],
    ['short sig', { ...good, sig: good.sig.slice(0, 126) }],
    ['long sig', { ...good, sig: good.sig + '00' }],
    ['non-hex sig', { ...good, sig: 'zz' + good.sig.slice(2) }],
    ['non-ASCII sig', { ...good, sig: 'é' + good.sig.slice(1) }],
    ['short pubkey', { ...good, pubkey: good.pubkey.slice(0, 62) }],
    ['short id', { ...good, id: good.id.slice(0, 62) }],
    ['empty strings', { ...good, id: '', sig: '', pubkey: '' }],
    ['content is a number', { ...good, content: 5 }],
    ['created_at is a string', { ...good, created_at: String(good.created_at) }],
    ['created_at is fractional', { ...good, created_at: good.created_at + 0.5 }],
    ['kind is negative', { ...good, kind: -1 }],
    ['tags not an array', { ...good, tags: 'x' }],
    ['tag value a number', { ...good, tags: [['t', 1]] }],
    ['tag not an array', { ...good, tags: ['t'] }],
    ['sig is a number', { ...good, sig: 1 }],
    ['id missing', { ...good, id: undefined }],
    ['null', null],
    ['string', 'event'],
    ['array', [good]],
  ];
}

describe('serializeForId', () => {
  test('matches nostr-tools for every generated event', () => {
    for (const e of events) {
      assert.equal(serializeForId(e), serializeEvent(e));
      assert.equal(getEventHash(e), e.id);
    }
  });
  test('escapes quotes, newlines and keeps non-ASCII verbatim', () => {
    const s = serializeForId({ ...SELF_TEST_EVENT });
    assert.ok(s.includes('\\"ü\\"\\n'), s);
  });
});

describe('decodeHexInto', () => {
  test('decodes lowercase hex and rejects the rest', () => {
    const out = new Uint8Array(4);
    assert.equal(decodeHexInto('00ff7a10', 4, out, 0), true);
    assert.deepEqual([...out], [0, 255, 0x7a, 0x10]);
    for (const bad of ['00FF7a10', '00ff7a1', '00ff7a100', '00ff7g10', '00ff7a1\u0130', '00ff7a1\u0131']) {
      assert.equal(decodeHexInto(bad, 4, out, 0), false, bad);
    }
  });
});

test('at least bcrypto-native or nostr-wasm loads here', () => {
  assert.ok(backends.includes('bcrypto-native') || backends.includes('nostr-wasm'), backends.join(','));
});

for (const backend of backends) {
  for (const workers of [0, 1, 2]) {
    describe(`${backend}, ${workers} worker(s)`, () => {
      let v: Verifier;
      // the pure-JS backends verify ~500–1,000/s: keep their sets small
      const set = backend === 'noble' || backend === 'bcrypto-js' ? events.slice(0, 12) : events;
      after(async () => {
        await v?.close();
      });

      test('reports its backend and worker count', async () => {
        // inlineShare 0: every signature really travels to the workers
        v = await createVerifier({ backend, workers, inlineShare: 0 });
        assert.equal(v.backend, backend);
        assert.equal(v.workers, workers);
        assert.equal(v.degraded, undefined);
      });

      test('accepts valid events (sequentially and all at once)', async () => {
        assert.equal(await v.verify(SELF_TEST_EVENT), true);
        for (const e of set.slice(0, 5)) assert.equal(await v.verify(e), true);
        const all = await Promise.all(set.map((e) => v.verify(e)));
        assert.deepEqual(all, set.map(() => true));
      });

      test('rejects tampered, malformed and mistyped events without throwing', async () => {
        for (const [name, bad] of badEvents(set[0], set[1])) {
          assert.equal(await v.verify(bad as NostrEvent), false, name);
        }
      });

      test('mixed batches answer each event, in order', async () => {
        const bads = badEvents(set[0], set[1]).map(([, b]) => b as NostrEvent);
        const input: NostrEvent[] = [];
        const expected: boolean[] = [];
        for (let i = 0; i < set.length; i++) {
          input.push(set[i]);
          expected.push(true);
          if (i % 2 === 0) {
            // signature-only failures must travel to the worker and come back in place
            input.push({ ...set[i], sig: flipHex(set[i].sig, 100) });
            expected.push(false);
          }
          if (i % 3 === 0) {
            input.push(bads[i % bads.length]);
            expected.push(false);
          }
        }
        assert.deepEqual(await Promise.all(input.map((e) => v.verify(e))), expected);
      });
    });
  }
}

describe('worker pool', () => {
  const backend: VerifyBackendName = backends.includes('bcrypto-native') ? 'bcrypto-native' : backends[0];

  test('more events than one batch, spread over workers, all answered in order', async () => {
    const many = generateNotes(700, 11);
    const input = many.map((e, i) => (i % 7 === 3 ? { ...e, sig: flipHex(e.sig, 5) } : e));
    const v = await createVerifier({ backend, workers: 2, inlineShare: 0 });
    try {
      const res = await Promise.all(input.map((e) => v.verify(e)));
      assert.deepEqual(res, input.map((_, i) => i % 7 !== 3));
    } finally {
      await v.close();
    }
  });

  test('a worker that dies mid-batch: its events are verified on the main thread', async () => {
    const v = await createVerifier({ backend, workers: 1, inlineShare: 0 });
    try {
      const input = events.map((e, i) => (i % 5 === 0 ? { ...e, sig: flipHex(e.sig, 9) } : e));
      const pending = input.map((e) => v.verify(e));
      const slots = (v as unknown as { slots: { worker: Worker }[] }).slots;
      await new Promise<void>((resolve) => queueMicrotask(resolve)); // let the batch be sent
      await slots[0].worker.terminate();
      assert.deepEqual(await Promise.all(pending), input.map((_, i) => i % 5 !== 0));
      assert.equal(v.workers, 0);
      assert.match(v.degraded ?? '', /verify worker exited/);
      assert.equal(await v.verify(events[0]), true);
    } finally {
      await v.close();
    }
  });

  test('low load is verified inline, bursts go to the workers', async () => {
    const v = await createVerifier({ backend, workers: 1, inlineShare: 0.5 });
    try {
      const slots = (v as unknown as { slots: { worker: Worker }[] }).slots;
      let posted = 0;
      const orig = slots[0].worker.postMessage.bind(slots[0].worker);
      slots[0].worker.postMessage = (...args: Parameters<Worker['postMessage']>) => {
        posted++;
        orig(...args);
      };
      // one event in flight, well spaced: the budget covers it, no thread hop
      for (const e of events.slice(0, 3)) {
        await new Promise((r) => setTimeout(r, 2));
        assert.equal(await v.verify(e), true);
      }
      assert.equal(posted, 0);
      assert.equal(await v.verify({ ...events[0], sig: flipHex(events[0].sig, 3) }), false);
      // a burst larger than the inline limit goes to the worker
      const res = await Promise.all(events.map((e) => v.verify(e)));
      assert.ok(res.every(Boolean));
      assert.ok(posted > 0);
    } finally {
      await v.close();
    }
  });

  test('rejects an inlineShare outside [0, 1]', async () => {
    await assert.rejects(createVerifier({ backend, workers: 1, inlineShare: 2 }), /inlineShare/);
  });

  test('verify after close rejects; close is idempotent', async () => {
    const v = await createVerifier({ backend, workers: 1 });
    await v.close();
    await v.close();
    await assert.rejects(v.verify(events[0]), /closed/);
  });

  test('close() waits for verifications in flight', async () => {
    const v = await createVerifier({ backend, workers: 1 });
    const pending = Promise.all(events.map((e) => v.verify(e)));
    await v.close();
    assert.ok((await pending).every(Boolean));
  });

  test('rejects a bad worker count', async () => {
    await assert.rejects(createVerifier({ backend, workers: -1 }), /workers/);
    await assert.rejects(createVerifier({ backend, workers: 1.5 }), /workers/);
  });
});

describe('backend selection', () => {
  test("'auto' picks the first backend of bcrypto-native → nostr-wasm → noble that loads", async () => {
    const v = await createVerifier();
    try {
      const expected = AUTO_ORDER.find((b) => backends.includes(b));
      assert.equal(v.backend, expected);
    } finally {
      await v.close();
    }
  });

  test("'auto' workers: one core for the main thread, the rest verify, at most 3", async () => {
    assert.equal(autoWorkers(undefined, 1), 0);
    assert.equal(autoWorkers(undefined, 2), 1);
    assert.equal(autoWorkers(undefined, 4), 3);
    assert.equal(autoWorkers(undefined, 16), 3);
    const v = await createVerifier({ workers: 'auto' });
    try {
      assert.equal(v.workers, autoWorkers());
    } finally {
      await v.close();
    }
  });

  test('an unknown backend name is an error', async () => {
    await assert.rejects(createVerifier({ backend: 'nope' as VerifyBackendName }), /unknown verify backend/);
  });
});

/** Run a small ESM script in a child node; resolve with its exit code and stdout. */
function runChild(script: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

describe('process lifecycle', () => {
  const ev = JSON.stringify(SELF_TEST_EVENT);

  test('close() lets the process exit (2 workers)', async () => {
    const r = await runChild(
      `import { createVerifier } from ${JSON.stringify(verifyJs)};
       const v = await createVerifier({ workers: 2 });
       const ok = await v.verify(${ev});
       const n = v.workers;
       await v.close();
       console.log(ok, n, v.workers);`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'true 2 0');
  });

  test('idle workers do not keep the process alive even without close()', async () => {
    const r = await runChild(
      `import { createVerifier } from ${JSON.stringify(verifyJs)};
       const v = await createVerifier({ workers: 1 });
       console.log(await v.verify(${ev}));`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'true');
  });

  test('a verification in flight keeps the process alive until it is answered', async () => {
    const r = await runChild(
      `import { createVerifier } from ${JSON.stringify(verifyJs)};
       const v = await createVerifier({ workers: 1 });
       v.verify(${ev}).then((ok) => console.log('answered', ok));`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'answered true');
  });

  test('GRASP_VERIFY_BACKEND / GRASP_VERIFY_WORKERS apply when options do not say', async () => {
    const r = await runChild(
      `import { createVerifier } from ${JSON.stringify(verifyJs)};
       const a = await createVerifier();
       const b = await createVerifier({ workers: 0 });
       console.log(a.backend, a.workers, b.workers, await a.verify(${ev}));
       await a.close(); await b.close();`,
      { GRASP_VERIFY_BACKEND: 'nostr-wasm', GRASP_VERIFY_WORKERS: '2' },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'nostr-wasm 2 0 true');
  });

  test("without the native addon, 'auto' falls back to nostr-wasm", async () => {
    // NODE_BACKEND=js makes bcrypto load its pure-JS code, as on a machine where it cannot build
    const r = await runChild(
      `import { createVerifier } from ${JSON.stringify(verifyJs)};
       const v = await createVerifier({ workers: 1 });
       console.log(v.backend, await v.verify(${ev}));
       await v.close();`,
      { NODE_BACKEND: 'js' },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'nostr-wasm true');
  });
});

test('generator keys sign events every backend accepts', async () => {
  const [key] = benchKeys(3, 1);
  const e = signEvent(key, { created_at: 1_700_000_000, kind: 1, tags: [], content: 'x' });
  for (const backend of backends) {
    const v = await createVerifier({ backend, workers: 0 });
    assert.equal(await v.verify(e), true, backend);
    await v.close();
  }
});
