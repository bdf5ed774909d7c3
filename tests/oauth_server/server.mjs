// Test-only OAuth 2.0 / OpenID Connect provider for Lockstitch's test suite.
//
// Wraps panva/oidc-provider (pinned in package.json). Driven by tests/oauth_server/harness.py;
// nothing here is meant for production. Configuration is one JSON object taken from, in order:
// `--config-file PATH`, `--config JSON`, $LOCKSTITCH_OIDC_CONFIG_FILE, $LOCKSTITCH_OIDC_CONFIG.
//
//   {
//     "port": 41234,                 // required, never 0: the issuer is http://<host>:<port>
//     "admin_port": 41235,           // required: the admin listener (/health /stats /reset ...)
//     "host": "127.0.0.1",
//     "clients": [{ "client_id": "managed", "client_secret": "...", "redirect_uris": ["..."],
//                   "token_endpoint_auth_method": "client_secret_basic",
//                   "grant_types": ["authorization_code", "refresh_token"] }],
//     "ttl": { "AccessToken": 10, "RefreshToken": 1209600, "AuthorizationCode": 60,
//              "Grant": 1209600, "Session": 1209600, "Interaction": 600, "IdToken": 3600 },
//     "scopes": ["api:read", "api:write"],   // added to openid + offline_access
//     "pkce_required": false,                 // S256 is always supported
//     "refresh_token_policy": "always",       // or "offline_access" (oidc-provider's default)
//     "rotate_refresh_token": true,
//     "parent_pid": 1234                      // exit when this process is gone
//   }
//
// Logs go to stderr. Tokens and secrets are never logged: only fp(value), the first 12 hex
// digits of sha256(value), which harness.token_hash() computes too.
//
// oidc-provider is loaded from $LOCKSTITCH_OIDC_NODE_MODULES (a directory holding node_modules/,
// installed by harness.ensure_installed) or, without it, from next to this file.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const EXIT_ADDRESS_IN_USE = 3;
const EXIT_BAD_CONFIG = 2;

function log(event, fields = {}) {
  const parts = Object.entries(fields)
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([key, value]) => `${key}=${value}`);
  process.stderr.write(`${new Date().toISOString()} [oidc] ${event} ${parts.join(' ')}\n`);
}

function fp(value) {
  if (typeof value !== 'string' || !value) return undefined;
  return crypto.createHash('sha256').update(value).digest('hex').slice(0, 12);
}

function fail(message, code = EXIT_BAD_CONFIG) {
  log('fatal', { message: JSON.stringify(message) });
  process.exit(code);
}

// ---------------------------------------------------------------- configuration

function readConfig() {
  const argv = process.argv.slice(2);
  const arg = (name) => {
    const index = argv.indexOf(name);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  let text = null;
  if (arg('--config-file')) text = fs.readFileSync(arg('--config-file'), 'utf8');
  else if (arg('--config')) text = arg('--config');
  else if (process.env.LOCKSTITCH_OIDC_CONFIG_FILE) {
    text = fs.readFileSync(process.env.LOCKSTITCH_OIDC_CONFIG_FILE, 'utf8');
  } else if (process.env.LOCKSTITCH_OIDC_CONFIG) text = process.env.LOCKSTITCH_OIDC_CONFIG;
  if (!text) fail('no configuration: pass --config-file, --config or $LOCKSTITCH_OIDC_CONFIG');
  let config;
  try {
    config = JSON.parse(text);
  } catch (err) {
    fail(`configuration is not JSON: ${err.message}`);
  }
  for (const key of ['port', 'admin_port']) {
    if (!Number.isInteger(config[key]) || config[key] <= 0 || config[key] > 65535) {
      fail(`${key} must be a port number (0 is not allowed: the issuer URL contains it)`);
    }
  }
  if (!Array.isArray(config.clients) || config.clients.length === 0) fail('clients must be a non-empty list');
  const policy = config.refresh_token_policy ?? 'always';
  if (!['always', 'offline_access'].includes(policy)) fail('refresh_token_policy: "always" or "offline_access"');
  return {
    host: config.host ?? '127.0.0.1',
    port: config.port,
    adminPort: config.admin_port,
    clients: config.clients,
    ttl: {
      AccessToken: 10,
      AuthorizationCode: 60,
      RefreshToken: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
      Interaction: 600,
      IdToken: 3600,
      ...(config.ttl ?? {}),
    },
    scopes: config.scopes ?? ['api:read', 'api:write'],
    pkceRequired: config.pkce_required === true,
    refreshTokenPolicy: policy,
    rotateRefreshToken: config.rotate_refresh_token ?? true,
    parentPid: config.parent_pid,
  };
}

async function loadProvider() {
  const dir = process.env.LOCKSTITCH_OIDC_NODE_MODULES;
  if (dir) {
    const require = createRequire(path.join(dir, 'package.json'));
    return (await import(pathToFileURL(require.resolve('oidc-provider')).href)).default;
  }
  return (await import('oidc-provider')).default;
}

// ---------------------------------------------------------------- storage

// An unbounded in-memory adapter. oidc-provider's own MemoryAdapter is an LRU of ~1000 entries:
// a provider shared by many tests would silently forget old grants and refresh tokens.
const GRANTABLE = new Set([
  'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode',
]);
const store = new Map(); // "Model:id" -> { payload, expiresAt }
// Every opaque token and code ever issued (their value is their id), for the tests' canary scan.
const ISSUED_MODELS = new Set(['AccessToken', 'RefreshToken', 'AuthorizationCode', 'ClientCredentials']);
const issued = new Set();
const grantMembers = new Map(); // grantId -> Set("Model:id")
const sessionUids = new Map(); // uid -> session id
const userCodes = new Map(); // userCode -> id

function storeGet(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry.payload;
}

class TestAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    if (ISSUED_MODELS.has(this.model)) issued.add(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    store.set(key, { payload, expiresAt });
    if (this.model === 'Session' && payload.uid) sessionUids.set(payload.uid, id);
    if (payload.userCode) userCodes.set(payload.userCode, id);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      if (!grantMembers.has(payload.grantId)) grantMembers.set(payload.grantId, new Set());
      grantMembers.get(payload.grantId).add(key);
    }
  }

  async find(id) {
    return storeGet(this.key(id));
  }

  async findByUid(uid) {
    const id = sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = userCodes.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = storeGet(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    // Called once per token model; each removes its own members of the grant.
    const members = grantMembers.get(grantId);
    if (!members) return;
    for (const key of [...members]) {
      if (key.startsWith(`${this.model}:`)) {
        store.delete(key);
        members.delete(key);
      }
    }
    if (members.size === 0) grantMembers.delete(grantId);
  }
}

// ---------------------------------------------------------------- counters

const COUNTERS = [
  'token_requests', 'refresh_requests', 'refresh_success', 'code_exchanges', 'invalid_grant',
  'invalid_client', 'reuse_detected', 'grants_revoked',
  // extras
  'code_requests', 'refresh_tokens_consumed', 'access_denied', 'server_errors',
];
const stats = Object.fromEntries(COUNTERS.map((name) => [name, 0]));

function resetStats() {
  for (const name of COUNTERS) stats[name] = 0;
}

function grantTypeOf(ctx) {
  return ctx?.oidc?.params?.grant_type ?? ctx?.request?.body?.grant_type;
}

function clientIdOf(ctx) {
  return ctx?.oidc?.client?.clientId ?? ctx?.oidc?.params?.client_id;
}

function isReuse(ctx, err) {
  if (err?.error !== 'invalid_grant') return false;
  if (err.error_detail === 'refresh token already used') return true;
  try {
    return Boolean(ctx?.oidc?.entities?.RefreshToken?.consumed);
  } catch {
    return false;
  }
}

function countTokenRequest(ctx) {
  stats.token_requests += 1;
  const grantType = grantTypeOf(ctx);
  if (grantType === 'refresh_token') stats.refresh_requests += 1;
  if (grantType === 'authorization_code') stats.code_requests += 1;
  return grantType;
}

function listen(provider) {
  provider.on('grant.success', (ctx) => {
    const grantType = countTokenRequest(ctx);
    if (grantType === 'refresh_token') stats.refresh_success += 1;
    if (grantType === 'authorization_code') stats.code_exchanges += 1;
    log('grant.success', {
      grant_type: grantType,
      client: clientIdOf(ctx),
      rt_in: fp(ctx.oidc.params?.refresh_token),
      rt_out: fp(ctx.body?.refresh_token),
      at_out: fp(ctx.body?.access_token),
    });
  });
  provider.on('grant.error', (ctx, err) => {
    const grantType = countTokenRequest(ctx);
    if (err?.error === 'invalid_grant') stats.invalid_grant += 1;
    if (err?.error === 'invalid_client') stats.invalid_client += 1;
    const reuse = isReuse(ctx, err);
    if (reuse) stats.reuse_detected += 1;
    log('grant.error', {
      grant_type: grantType,
      client: clientIdOf(ctx),
      error: err?.error,
      detail: err?.error_detail ? JSON.stringify(err.error_detail) : undefined,
      reuse: reuse ? 'yes' : undefined,
      rt_in: fp(ctx?.oidc?.params?.refresh_token),
    });
  });
  provider.on('server_error', (ctx, err) => {
    stats.server_errors += 1;
    if (ctx?.oidc?.route === 'token') countTokenRequest(ctx);
    log('server_error', { route: ctx?.oidc?.route, message: JSON.stringify(String(err?.message ?? err)) });
  });
  provider.on('grant.revoked', (ctx, grantId) => {
    stats.grants_revoked += 1;
    log('grant.revoked', { grant: fp(grantId), route: ctx?.oidc?.route });
  });
  provider.on('refresh_token.consumed', (token) => {
    stats.refresh_tokens_consumed += 1;
    log('refresh_token.consumed', { client: token?.clientId, grant: fp(token?.grantId) });
  });
  provider.on('authorization.error', (ctx, err) => {
    if (err?.error === 'access_denied') stats.access_denied += 1;
    log('authorization.error', { client: clientIdOf(ctx), error: err?.error });
  });
  provider.on('authorization.success', (ctx) => {
    log('authorization.success', { client: clientIdOf(ctx) });
  });
  for (const event of ['introspection.error', 'revocation.error']) {
    provider.on(event, (ctx, err) => log(event, { client: clientIdOf(ctx), error: err?.error }));
  }
}

// ---------------------------------------------------------------- interactions

function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body><h1>${esc(title)}</h1>
${body}
</body></html>
`;
}

async function readBody(req, limit = 1 << 20) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

function loginPage(uid, details, error) {
  const { params } = details;
  return page('Sign in', `
<p>Client <code id="client_id">${esc(params.client_id)}</code> asks you to sign in. Any login and password work.</p>
${error ? `<p id="error">${esc(error)}</p>` : ''}
<form id="login" method="post" action="/interaction/${esc(uid)}/login">
  <input type="text" name="login" value="${esc(params.login_hint ?? '')}" required>
  <input type="password" name="password" required>
  <button type="submit">Sign in</button>
</form>
<form id="deny" method="post" action="/interaction/${esc(uid)}/abort">
  <button type="submit">Cancel</button>
</form>`);
}

function consentPage(uid, details) {
  const { params, prompt, session } = details;
  const scopes = (prompt.details.missingOIDCScope ?? []).map((s) => `<li class="scope">${esc(s)}</li>`).join('');
  return page('Authorize', `
<p>Client <code id="client_id">${esc(params.client_id)}</code> asks
<code id="account">${esc(session?.accountId)}</code> for access.</p>
<ul id="scopes">${scopes}</ul>
<form id="consent" method="post" action="/interaction/${esc(uid)}/confirm">
  <button type="submit">Allow</button>
</form>
<form id="deny" method="post" action="/interaction/${esc(uid)}/abort">
  <button type="submit">Deny</button>
</form>`);
}

async function handleInteraction(provider, req, res, pathname) {
  const match = /^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?$/.exec(pathname);
  if (!match) return send(res, 404, page('Not found', ''));
  const [, uid, action] = match;
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    log('interaction.error', { message: JSON.stringify(err.message) });
    return send(res, 400, page('Interaction not found', `<p id="error">${esc(err.message)}</p>`));
  }
  if (details.uid !== uid) return send(res, 400, page('Interaction mismatch', ''));
  const promptName = details.prompt.name;

  if (!action) {
    if (req.method !== 'GET') return send(res, 405, page('Method not allowed', ''));
    if (promptName === 'login') return send(res, 200, loginPage(uid, details));
    if (promptName === 'consent') return send(res, 200, consentPage(uid, details));
    return send(res, 501, page(`Prompt ${promptName} not implemented`, ''));
  }
  if (req.method !== 'POST') return send(res, 405, page('Method not allowed', ''));
  const form = new URLSearchParams(await readBody(req));

  if (action === 'abort') {
    log('interaction.denied', { client: details.params.client_id, prompt: promptName });
    return provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User denied the request',
    }, { mergeWithLastSubmission: false });
  }
  if (action === 'login') {
    if (promptName !== 'login') return send(res, 400, page('Not a login prompt', ''));
    const login = (form.get('login') ?? '').trim();
    if (!login || !form.get('password')) {
      return send(res, 400, loginPage(uid, details, 'login and password are required'));
    }
    log('interaction.login', { client: details.params.client_id, account: login });
    return provider.interactionFinished(req, res, { login: { accountId: login } }, {
      mergeWithLastSubmission: false,
    });
  }
  // confirm
  if (promptName !== 'consent') return send(res, 400, page('Not a consent prompt', ''));
  const { prompt: { details: missing }, grantId, session, params } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const savedGrantId = await grant.save();
  log('interaction.consent', { client: params.client_id, grant: fp(savedGrantId) });
  return provider.interactionFinished(req, res, { consent: { grantId: savedGrantId } }, {
    mergeWithLastSubmission: true,
  });
}

// ---------------------------------------------------------------- clients and admin

function clientMetadata(client) {
  if (!client.client_id || typeof client.client_id !== 'string') throw new Error('client_id is required');
  const grantTypes = client.grant_types ?? ['authorization_code', 'refresh_token'];
  return {
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: client.redirect_uris ?? [],
    grant_types: grantTypes,
    response_types: client.response_types ?? (grantTypes.includes('authorization_code') ? ['code'] : []),
    token_endpoint_auth_method: client.token_endpoint_auth_method ?? 'client_secret_basic',
    ...(client.scope ? { scope: client.scope } : {}),
  };
}

async function registerClient(provider, client) {
  const metadata = clientMetadata(client);
  // Clients live in the adapter (not in the static `clients` list) so the admin API can add or
  // replace them at run time, e.g. with another redirect URI.
  const adapter = new TestAdapter('Client');
  const previous = await adapter.find(metadata.client_id);
  await adapter.upsert(metadata.client_id, metadata);
  try {
    await provider.Client.find(metadata.client_id); // validates the metadata
  } catch (err) {
    if (previous) await adapter.upsert(metadata.client_id, previous);
    else await adapter.destroy(metadata.client_id);
    throw new Error(`invalid client ${metadata.client_id}: ${err.error_description ?? err.message}`);
  }
  log('client.registered', {
    client: metadata.client_id,
    auth: metadata.token_endpoint_auth_method,
    redirect_uris: JSON.stringify(metadata.redirect_uris),
  });
  return metadata.client_id;
}

async function revokeGrant(provider, body) {
  let grantId = body.grant_id;
  if (!grantId) {
    const value = body.refresh_token ?? body.access_token;
    const Model = body.refresh_token ? provider.RefreshToken : provider.AccessToken;
    if (!value) return { status: 400, body: { error: 'give refresh_token, access_token or grant_id' } };
    const token = await Model.find(value, { ignoreExpiration: true });
    if (!token) return { status: 404, body: { error: 'token not found' } };
    grantId = token.grantId;
  }
  const grant = await provider.Grant.find(grantId);
  const members = grantMembers.get(grantId);
  if (!grant && !members) return { status: 404, body: { error: 'grant not found' } };
  // What a user revoking the app's access does: every token of the grant and the grant itself go.
  await Promise.all([
    provider.AccessToken.revokeByGrantId(grantId),
    provider.RefreshToken.revokeByGrantId(grantId),
    provider.AuthorizationCode.revokeByGrantId(grantId),
    provider.Grant.adapter.destroy(grantId),
  ]);
  stats.grants_revoked += 1;
  log('admin.grant_revoked', { grant: fp(grantId) });
  return { status: 200, body: { revoked: true, grant_id: grantId } };
}

function json(res, status, body) {
  send(res, status, `${JSON.stringify(body)}\n`, 'application/json');
}

function adminHandler(provider, config) {
  return async (req, res) => {
    const { pathname } = new URL(req.url, 'http://admin');
    try {
      if (req.method === 'GET' && pathname === '/health') {
        return json(res, 200, { ok: true, issuer: provider.issuer });
      }
      if (req.method === 'GET' && pathname === '/stats') return json(res, 200, stats);
      if (req.method === 'GET' && pathname === '/issued') return json(res, 200, [...issued]);
      if (req.method === 'POST' && pathname === '/reset') {
        resetStats();
        return json(res, 200, stats);
      }
      if (req.method === 'POST' && pathname === '/revoke-grant') {
        const result = await revokeGrant(provider, JSON.parse((await readBody(req)) || '{}'));
        return json(res, result.status, result.body);
      }
      if (req.method === 'POST' && pathname === '/clients') {
        const clientId = await registerClient(provider, JSON.parse((await readBody(req)) || '{}'));
        return json(res, 200, { client_id: clientId });
      }
      if (req.method === 'GET' && pathname === '/config') {
        return json(res, 200, { issuer: provider.issuer, ttl: config.ttl, scopes: config.scopes });
      }
      return json(res, 404, { error: 'not found' });
    } catch (err) {
      log('admin.error', { path: pathname, message: JSON.stringify(err.message) });
      return json(res, 400, { error: err.message });
    }
  };
}

// ---------------------------------------------------------------- main

function listenOn(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function main() {
  const config = readConfig();
  const Provider = await loadProvider();
  const issuer = `http://${config.host}:${config.port}`;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };

  const provider = new Provider(issuer, {
    adapter: TestAdapter,
    clients: [],
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    scopes: ['openid', 'offline_access', ...config.scopes],
    claims: { openid: ['sub'] },
    responseTypes: ['code'],
    pkce: { required: () => config.pkceRequired },
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true },
      revocation: { enabled: true },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
      && (config.refreshTokenPolicy === 'always' || code.scopes.has('offline_access')),
    // Tokens outlive the browser session (the default ties tokens without offline_access to it).
    expiresWithSession: async () => false,
    rotateRefreshToken: config.rotateRefreshToken,
    ttl: config.ttl,
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Error', `<p id="error">${esc(out.error)}</p>
<p id="error_description">${esc(out.error_description)}</p>`);
    },
  });
  listen(provider);
  for (const client of config.clients) {
    try {
      await registerClient(provider, client);
    } catch (err) {
      fail(err.message);
    }
  }

  const callback = provider.callback();
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, issuer);
    if (pathname.startsWith('/interaction/')) {
      handleInteraction(provider, req, res, pathname).catch((err) => {
        log('interaction.error', { message: JSON.stringify(err.message) });
        if (!res.headersSent) send(res, 500, page('Error', `<p id="error">${esc(err.message)}</p>`));
      });
      return;
    }
    callback(req, res);
  });
  const admin = http.createServer(adminHandler(provider, config));
  try {
    await listenOn(server, config.port, config.host);
    await listenOn(admin, config.adminPort, config.host);
  } catch (err) {
    fail(`cannot listen: ${err.code ?? err.message}`, err.code === 'EADDRINUSE' ? EXIT_ADDRESS_IN_USE : 1);
  }

  const stop = (signal) => {
    log('stopping', { signal });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (Number.isInteger(config.parentPid) && config.parentPid > 0) {
    setInterval(() => {
      try {
        process.kill(config.parentPid, 0);
      } catch {
        stop('parent-gone');
      }
    }, 1000).unref();
  }
  log('ready', {
    issuer,
    admin: `http://${config.host}:${config.adminPort}`,
    node: process.version,
    ttl: JSON.stringify(config.ttl),
  });
}

main().catch((err) => fail(err.stack ?? String(err), 1));
