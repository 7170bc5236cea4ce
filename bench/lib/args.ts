// Command-line flags of the benches: `--name value` numbers and strings, `--flag` booleans, and
// `--quick` (small sizes for a fast look). Unknown flags are ignored so `bench/run.ts` can pass
// one argument list to every bench.

export interface Args {
  /** numeric flag `--name N`; `quick` is used when --quick is present and the flag is not */
  num(name: string, full: number, quick?: number): number;
  str(name: string, dflt: string): string;
  bool(name: string): boolean;
  readonly quick: boolean;
  /** the argument list as given (for the "command" field of the output) */
  readonly argv: readonly string[];
}

export function parseArgs(argv: readonly string[] = process.argv.slice(2)): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    return v === undefined || v.startsWith('--') ? undefined : v;
  };
  const quick = argv.includes('--quick');
  return {
    quick,
    argv,
    num(name, full, quickValue) {
      const v = get(name);
      if (v !== undefined) {
        const n = Number(v);
        if (!Number.isFinite(n)) throw new Error(`--${name} expects a number, got ${JSON.stringify(v)}`);
        return n;
      }
      return quick && quickValue !== undefined ? quickValue : full;
    },
    str(name, dflt) {
      return get(name) ?? dflt;
    },
    bool(name) {
      return argv.includes(`--${name}`);
    },
  };
}

/** `--transport auto|uws|ws`: the relay's WebSocket transport (default auto, as in production). */
export function transportArg(args: Args): 'auto' | 'uws' | 'ws' {
  const t = args.str('transport', 'auto');
  if (t !== 'auto' && t !== 'uws' && t !== 'ws') throw new Error(`--transport expects auto, uws or ws, got ${JSON.stringify(t)}`);
  return t;
}
