/**
 * The payload converter of the workflow worker: the default one, except that
 * a payload it cannot decode (an unknown `encoding` in its metadata, JSON
 * that does not parse) becomes a marker object instead of an error. Signals
 * come from anyone with access to Temporal (issue #18, item 2), and the SDK
 * decodes a signal's arguments before any handler runs: an error there fails
 * the workflow task again and again, and the data source stops answering.
 * With the marker, the handler's payload check (payloads.ts) refuses and
 * records the signal like any other malformed one.
 *
 * Payloads this product writes are encoded by the default converter and
 * decode exactly as before. Deterministic: bundled into workflow code.
 */
import { DefaultPayloadConverter, type Payload, type PayloadConverter } from '@temporalio/common';

/** Key of the marker object that stands for a payload that could not be decoded. */
export const UNDECODABLE_PAYLOAD = '__s3cUndecodablePayload';

class TolerantPayloadConverter implements PayloadConverter {
  private readonly inner = new DefaultPayloadConverter();

  toPayload<T>(value: T): Payload {
    return this.inner.toPayload(value);
  }

  fromPayload<T>(payload: Payload): T {
    try {
      return this.inner.fromPayload<T>(payload);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { [UNDECODABLE_PAYLOAD]: message.length > 200 ? `${message.slice(0, 199)}…` : message } as T;
    }
  }
}

export const payloadConverter: PayloadConverter = new TolerantPayloadConverter();
