// GetIceServerConfig through the AWS SDK for JavaScript v3
// (@aws-sdk/client-kinesis-video-signaling), run by interop/kvs_test.go in
// Node 20 against streamwire's KVS server. The SDK signs with SigV4 itself.
// Environment: KVS_ENDPOINT (the HTTPS ResourceEndpoint), KVS_CHANNEL_ARN,
// KVS_CLIENT_ID, KVS_REGION, KVS_ACCESS_KEY, KVS_SECRET_KEY, and
// NODE_EXTRA_CA_CERTS naming the test certificate.
// Prints one JSON line per call: {"call":..., "ok":<output>} or
// {"call":..., "error":{"name","status","message"}}.
import { KinesisVideoSignalingClient, GetIceServerConfigCommand } from '@aws-sdk/client-kinesis-video-signaling';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const env = process.env;
const input = { ChannelARN: env.KVS_CHANNEL_ARN, ClientId: env.KVS_CLIENT_ID, Service: 'TURN' };

function client(secret, handler) {
  return new KinesisVideoSignalingClient({
    region: env.KVS_REGION,
    endpoint: env.KVS_ENDPOINT,
    credentials: { accessKeyId: env.KVS_ACCESS_KEY, secretAccessKey: secret },
    maxAttempts: 1,
    requestHandler: handler,
  });
}

// tamper changes one byte of the body after the SDK signed it.
class TamperingHandler {
  constructor() { this.inner = new NodeHttpHandler(); }
  handle(request, options) {
    const body = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body);
    request.body = body.replace('"Service":"TURN"', '"Service":"TURM"');
    return this.inner.handle(request, options);
  }
  destroy() { this.inner.destroy(); }
}

async function call(name, c) {
  try {
    const out = await c.send(new GetIceServerConfigCommand(input));
    delete out.$metadata;
    console.log(JSON.stringify({ call: name, ok: out }));
  } catch (err) {
    console.log(JSON.stringify({ call: name, error: { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message } }));
  } finally {
    c.destroy();
  }
}

await call('signed', client(env.KVS_SECRET_KEY));
await call('wrong-secret', client(env.KVS_SECRET_KEY + 'x'));
await call('tampered', client(env.KVS_SECRET_KEY, new TamperingHandler()));
