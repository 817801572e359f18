/** The API's error: what a route throws to answer with a status. */

/** An error with its HTTP status; its message is what the client reads. */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 503,
    message: string,
  ) {
    super(message);
  }
}
