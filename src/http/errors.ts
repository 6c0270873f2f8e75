/** An answer other than 2xx, with a stable code and a message that says what to do. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

export const notFound = (what: string) => new HttpError(404, "NOT_FOUND", `${what} not found`);
export const badRequest = (message: string) => new HttpError(400, "BAD_REQUEST", message);
