// The single error type of the negentropy module: every malformed message, bad parameter or
// misuse of the API throws NegentropyError with a readable message (never a crash or a hang).

export class NegentropyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NegentropyError';
  }
}
