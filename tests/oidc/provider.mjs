// A real OpenID Connect provider for kiosk's single sign-on tests: panva/oidc-provider (certified),
// listening on 127.0.0.1 only, on a free port. It prints one JSON line {"issuer": ...} once it
// answers.
//
//   node provider.mjs ACCOUNTS_FILE REDIRECT_URI
//
// ACCOUNTS_FILE is JSON {"<account id>": {"groups": [...], "preferred_username": "..."}}, read
// at every login, so a test can take a user out of a group between two logins.
//
// Clients: "kiosk" (secret "kiosk-secret") and "other" (secret "other-secret"), both with
// REDIRECT_URI. PKCE is required. The login interaction is a form with one field, "login" (the
// account id, no password); consent is granted by itself (first-party clients).
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const [accountsFile, redirectUri] = process.argv.slice(2);
if (!accountsFile || !redirectUri) {
  console.error('usage: node provider.mjs ACCOUNTS_FILE REDIRECT_URI');
  process.exit(2);
}

function accounts() {
  return JSON.parse(readFileSync(accountsFile, 'utf8'));
}

const server = http.createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'kiosk',
      client_secret: 'kiosk-secret',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
    {
      client_id: 'other',
      client_secret: 'other-secret',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  scopes: ['openid', 'profile', 'groups'],
  claims: { openid: ['sub'], profile: ['preferred_username'], groups: ['groups'] },
  // The scopes' claims go into the ID token itself (what kiosk reads), not only to userinfo.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  cookies: { keys: ['kiosk-test-provider-cookie-key'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = accounts()[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...account };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile groups');
    await grant.save();
    return grant;
  },
  // Short lifetimes are not needed: kiosk checks expiry against its own (test) clock.
  ttl: { IdToken: 3600, AccessToken: 3600, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600 },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><title>Test provider</title>
<form method="post" action="/interaction/${escape(uid)}"><input name="login"><button>Log in</button></form>`);
    return;
  }
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const login = new URLSearchParams(Buffer.concat(chunks).toString()).get('login') || '';
  if (!(login in accounts())) {
    await provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'unknown account',
    }, { mergeWithLastSubmission: false });
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: login } }, {
    mergeWithLastSubmission: false,
  });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(new URL(req.url, issuer).pathname);
  if (!match) {
    callback(req, res);
    return;
  }
  interaction(req, res, match[1]).catch((error) => {
    res.statusCode = 400;
    res.end(String(error.message));
  });
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
