import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeS3Error } from '../../src/aws/s3Errors';

describe('describeS3Error: the one reading of an S3 error', () => {
  it('reads name, code, status and the first line of the message', () => {
    const err = Object.assign(new Error('The specified key does not exist.\nRequestId: 1'), {
      name: 'NoSuchKey',
      $metadata: { httpStatusCode: 404 },
    });
    assert.deepEqual(describeS3Error(err), {
      name: 'NoSuchKey',
      code: 'NoSuchKey',
      status: 404,
      message: 'The specified key does not exist.',
      text: 'NoSuchKey: The specified key does not exist.',
    });
  });

  it("prefers the body's Code as the code, keeps the SDK's name", () => {
    const facts = describeS3Error({
      name: 'S3ServiceException',
      Code: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    assert.equal(facts.code, 'AccessDenied');
    assert.equal(facts.name, 'S3ServiceException');
  });

  it('a HEAD answer without a body: the name alone', () => {
    assert.deepEqual(
      describeS3Error({ name: 'NotFound', message: 'NotFound', $metadata: { httpStatusCode: 404 } }).text,
      'NotFound',
    );
  });

  it('anything thrown: a network error without status, a string, nothing', () => {
    assert.equal(describeS3Error(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })).status, undefined);
    assert.equal(describeS3Error('boom').text, 'Error');
    assert.equal(describeS3Error(undefined).name, 'Error');
  });
});
