// A device written against an independent DPoP implementation, panva's
// `dpop` package (RFC 9449), with nothing of pairgate's: it discovers the
// server, asks for a device code with a proof, polls with proofs until a
// person approves (the Go test stands in for the person), refreshes with a
// proof, and calls the device API as Authorization: DPoP. It follows
// server nonces (use_dpop_nonce) as RFC 9449 section 8 says. It prints one
// JSON line per step; the last says what it got.
//
// Usage: node device.mjs ISSUER ALG
import * as DPoP from 'dpop'

const [issuer, alg = 'ES256'] = process.argv.slice(2)
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const fail = (msg, extra) => { say({ ok: false, error: msg, ...extra }); process.exit(1) }

const meta = await (await fetch(issuer + '/.well-known/oauth-authorization-server')).json()
if (!(meta.dpop_signing_alg_values_supported || []).includes(alg)) {
  fail('the server does not advertise ' + alg, { advertised: meta.dpop_signing_alg_values_supported })
}
const keypair = await DPoP.generateKeyPair(alg)
const jkt = await DPoP.calculateThumbprint(keypair.publicKey)
let nonce

// send makes one request with a fresh proof, and once more with the
// server's nonce when it asks for one.
async function send(url, method, { body, accessToken } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { DPoP: await DPoP.generateProof(keypair, url, method, nonce, accessToken) }
    if (body) headers['Content-Type'] = 'application/x-www-form-urlencoded'
    if (accessToken) headers.Authorization = 'DPoP ' + accessToken
    const res = await fetch(url, { method, headers, body: body && new URLSearchParams(body).toString() })
    if (res.headers.get('dpop-nonce')) nonce = res.headers.get('dpop-nonce')
    const text = await res.text()
    let json = {}
    try { json = JSON.parse(text) } catch {}
    const wantsNonce = json.error === 'use_dpop_nonce' ||
      (res.status === 401 && (res.headers.get('www-authenticate') || '').includes('use_dpop_nonce'))
    if (wantsNonce && attempt === 0) continue
    return { status: res.status, json, headers: res.headers }
  }
}

const da = await send(meta.device_authorization_endpoint, 'POST',
  { body: { client_id: 'print-client', mode: 'device', hardware_id: 'NODE-' + alg, device_name: 'Node device ' + alg } })
if (da.status !== 200) fail('device authorization', da.json)
say({ step: 'code', user_code: da.json.user_code, jkt })

let interval = (da.json.interval || 5) * 1000
let tokens
const deadline = Date.now() + da.json.expires_in * 1000
while (!tokens) {
  if (Date.now() > deadline) fail('nobody approved in time')
  await new Promise((r) => setTimeout(r, interval))
  const t = await send(meta.token_endpoint, 'POST', {
    body: { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: da.json.device_code, client_id: 'print-client' },
  })
  if (t.status === 200) tokens = t.json
  else if (t.json.error === 'slow_down') interval += 5000
  else if (t.json.error !== 'authorization_pending') fail('poll', t.json)
}
if (tokens.token_type !== 'DPoP') fail('token_type is not DPoP', tokens)
say({ step: 'tokens', token_type: tokens.token_type })

const r = await send(meta.token_endpoint, 'POST', {
  body: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'print-client' },
})
if (r.status !== 200 || r.json.token_type !== 'DPoP' || r.json.refresh_token === tokens.refresh_token) fail('refresh', r.json)
say({ step: 'refreshed' })

const me = await send(issuer + '/api/v1/device', 'GET', { accessToken: r.json.access_token })
if (me.status !== 200) fail('device API', { status: me.status, body: me.json })
// The same token as Bearer, without a proof, is refused.
const bearer = await fetch(issuer + '/api/v1/device', { headers: { Authorization: 'Bearer ' + r.json.access_token } })
if (bearer.status !== 401) fail('a DPoP token was accepted as Bearer', { status: bearer.status })
say({ ok: true, device_id: me.json.device_id, dpop_jkt: me.json.dpop_jkt, jkt, nonce_used: nonce !== undefined })
