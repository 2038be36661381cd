import { describe, expect, it } from 'vitest';
import {
  credentialsFromHelper,
  registryCredentials,
  registryHost,
} from '../../src/core/registry-auth.js';

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('the login rp pushes a Slurm job image with', () => {
  it('Given a login docker stored in config.json, When the registry is named with or without a scheme, Then its user and password are used', () => {
    const config = JSON.stringify({
      auths: { 'https://Registry.Lab:5000/v1/': { auth: base64('alice:s3cr:et') } },
    });
    expect(registryCredentials(config, 'registry.lab:5000')).toEqual({
      kind: 'stored',
      auth: { username: 'alice', password: 's3cr:et', serveraddress: 'registry.lab:5000' },
    });
    expect(registryHost('http://registry.lab:5000/')).toBe('registry.lab:5000');
  });

  it('Given an identity token, When read, Then the token is used instead of a password', () => {
    const config = JSON.stringify({ auths: { 'registry.lab': { identitytoken: 'tok' } } });
    expect(registryCredentials(config, 'registry.lab')).toEqual({
      kind: 'stored',
      auth: { identitytoken: 'tok', serveraddress: 'registry.lab' },
    });
  });

  it('Given logins kept by a credential helper, When read, Then the helper is named and no credentials are made up', () => {
    const perRegistry = JSON.stringify({ credHelpers: { 'registry.lab': 'pass' }, auths: {} });
    expect(registryCredentials(perRegistry, 'registry.lab')).toEqual({
      kind: 'helper',
      helper: 'pass',
    });
    const store = JSON.stringify({ credsStore: 'desktop', auths: { 'registry.lab': {} } });
    expect(registryCredentials(store, 'registry.lab')).toEqual({
      kind: 'helper',
      helper: 'desktop',
    });
  });

  it("Given a credential helper's answer to get, When read, Then its username and secret (or identity token) are the login", () => {
    const answer = (fields: Record<string, string>): string =>
      JSON.stringify({ ServerURL: 'registry.lab', ...fields });
    expect(
      credentialsFromHelper(answer({ Username: 'bob', Secret: 'pw' }), 'http://registry.lab/'),
    ).toEqual({
      username: 'bob',
      password: 'pw',
      serveraddress: 'registry.lab',
    });
    expect(
      credentialsFromHelper(answer({ Username: '<token>', Secret: 'tok' }), 'registry.lab'),
    ).toEqual({
      identitytoken: 'tok',
      serveraddress: 'registry.lab',
    });
    expect(
      credentialsFromHelper(answer({ Username: 'bob', Secret: '' }), 'registry.lab'),
    ).toBeUndefined();
    expect(
      credentialsFromHelper('credentials not found in native keychain', 'registry.lab'),
    ).toBeUndefined();
  });

  it('Given no config, a broken one or a login for another registry, When read, Then there is none', () => {
    expect(registryCredentials('', 'registry.lab')).toEqual({ kind: 'none' });
    expect(registryCredentials('{not json', 'registry.lab')).toEqual({ kind: 'none' });
    const other = JSON.stringify({ auths: { 'other.lab': { auth: base64('bob:pw') } } });
    expect(registryCredentials(other, 'registry.lab')).toEqual({ kind: 'none' });
  });
});
