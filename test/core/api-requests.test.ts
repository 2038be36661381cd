import { describe, expect, it } from 'vitest';
import {
  bookingBody,
  fieldName,
  jobIdParams,
  logsQuery,
  submitJobBody,
} from '../../src/core/api-requests.js';
import { httpStatusOf, mayActOn } from '../../src/core/api-errors.js';
import { ConfigError, DockerError, NoCapacityError, UsageError } from '../../src/core/errors.js';
import { parseListen } from '../../src/core/listen-address.js';

describe('submitJobBody', () => {
  it('accepts a project path and a script with resources', () => {
    const body = { project: '/home/ann/p', script: 'train.sh --lr 1', cpu: 2, gpu: 1, mem: 0.5 };
    expect(submitJobBody.parse(body)).toEqual(body);
  });

  it.each([
    [{ script: 'x' }, 'project'],
    [{ project: 'relative', script: 'x' }, 'project'],
    [{ project: '/p', script: 'x', cpu: 0 }, 'cpu'],
    [{ project: '/p', script: 'x', cpu: 'two' }, 'cpu'],
    [{ project: '/p', script: 'x', extra: 1 }, ''],
  ])('Given %j, Then the first issue is at %j', (body, path) => {
    const result = submitJobBody.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(path);
  });
});

describe('bookingBody', () => {
  it('needs a start and a duration', () => {
    expect(bookingBody.safeParse({ gpu: 1 }).success).toBe(false);
    expect(bookingBody.parse({ start: 'now', duration: '1h', gpu: 1 })).toEqual({
      start: 'now',
      duration: '1h',
      gpu: 1,
    });
  });
});

describe('jobIdParams and logsQuery', () => {
  it.each(['1234', '1234_7'])('%s is a job id', (id) => {
    expect(jobIdParams.safeParse({ id }).success).toBe(true);
  });

  it.each(['0123', '12', 'abcd', '1234_'])('%s is not', (id) => {
    expect(jobIdParams.safeParse({ id }).success).toBe(false);
  });

  it('reads the offset from the query string', () => {
    expect(logsQuery.parse({ offset: '42' })).toEqual({ offset: 42 });
    expect(logsQuery.safeParse({ offset: '-1' }).success).toBe(false);
  });
});

describe('fieldName', () => {
  it('names the field as the error message shows it', () => {
    expect(fieldName('body', ['cpu'])).toBe('body.cpu');
    expect(fieldName('params', [])).toBe('params');
  });
});

describe('httpStatusOf', () => {
  it.each([
    [new UsageError('x'), 400],
    [new ConfigError('x'), 422],
    [new NoCapacityError('x'), 409],
    [new DockerError('x'), 502],
  ])('%s is %d', (error, status) => {
    expect(httpStatusOf(error).status).toBe(status);
  });

  it('lets root act on anyone, others only on their own', () => {
    expect(mayActOn(0, 1000)).toBe(true);
    expect(mayActOn(1000, 1000)).toBe(true);
    expect(mayActOn(1001, 1000)).toBe(false);
  });
});

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:8470', { host: '127.0.0.1', port: 8470 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    ['localhost:80', { host: 'localhost', port: 80 }],
  ])('%s', (text, address) => {
    expect(parseListen(text)).toEqual(address);
  });

  it.each(['8470', '127.0.0.1', '1.2.3.4:70000', ':80'])('%s is a usage error', (text) => {
    expect(() => parseListen(text)).toThrow(UsageError);
  });
});
