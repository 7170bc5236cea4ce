#!/usr/bin/env node
// Adapter for the negentropy reference test harness: speaks its line protocol on stdin/stdout
// (item / seal / initiate / msg in; msg / have / need / done out) and drives our implementation
// from the compiled tree. Frame size limit from FRAMESIZELIMIT (unset or 0 = unlimited).
import { createInterface } from 'node:readline';
import {
  NegentropyInitiator,
  NegentropyResponder,
  NegentropyStorage,
  buildItems,
} from '../../dist/src/negentropy/index.js';

const limitEnv = process.env.FRAMESIZELIMIT;
const frameSizeLimit = limitEnv === undefined || limitEnv === '' ? 0 : Number(limitEnv);

const pairs = [];
let storage = null;
let initiator = null;
let responder = null;

function fail(message) {
  process.stderr.write(`harness-adapter: ${message}\n`);
  process.exit(1);
}

function handle(line) {
  const fields = line.split(',');
  const cmd = fields[0];
  if (cmd === 'item') {
    if (storage) fail('item after seal');
    if (fields.length !== 3 || !/^[0-9]+$/.test(fields[1])) fail(`bad item line: ${line}`);
    const ts = Number(fields[1]);
    if (!Number.isSafeInteger(ts)) fail(`timestamp beyond 2^53 not supported: ${fields[1]}`);
    pairs.push([ts, fields[2]]);
  } else if (cmd === 'seal') {
    if (storage) fail('sealed twice');
    storage = new NegentropyStorage(buildItems(pairs));
    pairs.length = 0;
  } else if (cmd === 'initiate') {
    if (!storage) fail('initiate before seal');
    if (initiator || responder) fail('initiate twice or after msg');
    initiator = new NegentropyInitiator(storage, { frameSizeLimit });
    process.stdout.write(`msg,${initiator.initiate()}\n`);
  } else if (cmd === 'msg') {
    if (!storage) fail('msg before seal');
    if (fields.length !== 2) fail('bad msg line');
    if (initiator) {
      const { output, have, need } = initiator.reconcile(fields[1]);
      let out = '';
      for (const id of have) out += `have,${id}\n`;
      for (const id of need) out += `need,${id}\n`;
      out += output === null ? 'done\n' : `msg,${output}\n`;
      process.stdout.write(out);
    } else {
      responder ??= new NegentropyResponder(storage, { frameSizeLimit });
      // the harness expects a responder to answer any other protocol version with ours
      const first = fields[1].slice(0, 2).toLowerCase();
      if (/^[0-9a-f]{2}$/.test(first) && first !== '61') process.stdout.write('msg,61\n');
      else process.stdout.write(`msg,${responder.reconcile(fields[1])}\n`);
    }
  } else {
    fail(`unknown command: ${cmd}`);
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (raw) => {
  const line = raw.trim();
  if (line === '') return;
  try {
    handle(line);
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
});
// end of input: readline closes and the process exits once stdout has drained
