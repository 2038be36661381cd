import { UsageError } from './errors.js';

/**
 * Splits a command line such as `train.sh --lr 3e-4 --name "run 1"` into an argument vector,
 * the way a POSIX shell splits words: single quotes keep everything, double quotes keep spaces
 * and allow \" \\ \$ \`, a backslash outside quotes escapes the next character. Nothing is
 * expanded: no variables, globs or substitutions, since the vector is never handed to a shell.
 */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] as string;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
      continue;
    }
    if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1] as string)) {
        i += 1;
        word += text[i];
      } else word += char;
      continue;
    }
    if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\') {
      if (i + 1 >= text.length) throw new UsageError('--script ends with a lone backslash');
      i += 1;
      word += text[i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote) {
    throw new UsageError(
      `--script has an unterminated ${quote === '"' ? 'double' : 'single'} quote`,
      {
        hint: 'close the quote, e.g. --script="train.sh --name \'run 1\'"',
      },
    );
  }
  if (inWord) words.push(word);
  return words;
}
