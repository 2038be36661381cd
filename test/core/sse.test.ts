import { describe, expect, it } from 'vitest';
import { sseFrame, streamStart, wholeUtf8Length } from '../../src/core/sse.js';

describe('sseFrame', () => {
  it('Given an event with an id, When framed, Then each field is a line and a blank line ends it', () => {
    expect(sseFrame({ event: 'log', id: '14', data: '{"text":"a"}' })).toBe(
      'event: log\nid: 14\ndata: {"text":"a"}\n\n',
    );
  });

  it('splits data on every kind of line end, so no line can end the event early', () => {
    expect(sseFrame({ data: 'a\nb\r\nc\rd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  it('keeps line ends out of the id and event name', () => {
    expect(sseFrame({ event: 'x\ny', id: '1\n2', data: '' })).toBe(
      'event: x y\nid: 1 2\ndata: \n\n',
    );
  });
});

describe('streamStart', () => {
  it.each([
    [5, undefined, 5],
    [5, '9', 5],
    [undefined, '9', 9],
    [undefined, undefined, 0],
    [undefined, '', 0],
    [undefined, 'abc', undefined],
    [undefined, '-3', undefined],
  ])('offset %j, Last-Event-ID %j: from %j', (query, lastEventId, start) => {
    expect(streamStart(query, lastEventId)).toBe(start);
  });
});

describe('wholeUtf8Length', () => {
  const bytes = Buffer.from('ab€', 'utf8'); // € is 3 bytes

  it('keeps whole text as it is', () => {
    expect(wholeUtf8Length(bytes)).toBe(5);
  });

  it.each([3, 4])('cuts before a character split after %d bytes', (length) => {
    expect(wholeUtf8Length(bytes.subarray(0, length))).toBe(2);
  });

  it('handles a 4-byte character cut after each of its bytes', () => {
    const emoji = Buffer.from('x😀', 'utf8');
    for (let length = 2; length < emoji.length; length += 1) {
      expect(wholeUtf8Length(emoji.subarray(0, length))).toBe(1);
    }
    expect(wholeUtf8Length(emoji)).toBe(5);
  });

  it('an empty buffer is 0', () => {
    expect(wholeUtf8Length(Buffer.alloc(0))).toBe(0);
  });
});
