// StorageHealth's write gate: once a commit failed because the disk was full, writes are refused
// without being attempted until the filesystem has gained space or a probe is due, so a full disk
// answers "storage full" consistently instead of letting small writes trickle into its last pages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { StorageHealth } from '../../src/store/health.js';

function enospc(): Error {
  const cause = Object.assign(new Error('No space left on device'), { code: 'ENOSPC' });
  return Object.assign(new Error('Commit failed'), { commitError: Promise.reject(cause) });
}

function setup(): { h: StorageHealth; disk: { free: number }; clock: { ms: number } } {
  const disk = { free: 10_000 };
  const clock = { ms: 1_000_000 };
  const h = new StorageHealth('/nowhere', silentLogger, () => clock.ms, () => disk.free);
  return { h, disk, clock };
}

test('a full disk: writes are refused until 1 MiB more is free, then attempted', async () => {
  const { h, disk } = setup();
  assert.equal(h.refuseWrites(), false, 'healthy storage refuses nothing');
  assert.equal(await h.failed(enospc()), 'full');
  assert.equal(h.full, true);
  assert.equal(h.refuseWrites(), true);
  disk.free += 600_000;
  assert.equal(h.refuseWrites(), true, 'a little space is not enough');
  disk.free += 1024 * 1024;
  assert.equal(h.refuseWrites(), false, 'space is back: try');
  h.succeeded();
  assert.equal(h.full, false);
  disk.free = 0;
  assert.equal(h.refuseWrites(), false, 'after a success nothing is refused until the next failure');
});

test('a full disk that statfs does not explain (quota): one probe write every 30 s', async () => {
  const { h, clock } = setup();
  await h.failed(enospc());
  assert.equal(h.refuseWrites(), true);
  clock.ms += 29_999;
  assert.equal(h.refuseWrites(), true);
  clock.ms += 1;
  assert.equal(h.refuseWrites(), false, 'the probe');
  assert.equal(h.refuseWrites(), true, 'only one');
  await h.failed(enospc());
  clock.ms += 10_000;
  assert.equal(h.refuseWrites(), true, 'the probe failed: wait again');
});

test('a full LMDB map refuses nothing up front: deletions and expiry free pages inside the map', async () => {
  const { h } = setup();
  const cause = Object.assign(new Error('MDB_MAP_FULL: Environment mapsize limit reached'), { code: -30792 });
  await h.failed(Object.assign(new Error('Commit failed'), { commitError: Promise.reject(cause) }));
  assert.equal(h.full, true);
  assert.equal(h.refuseWrites(), false);
});
