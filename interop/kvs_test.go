package interop

// AWS KVS signaling against real clients: aws-sdk-go-v2's kinesisvideo
// client, the AWS SDK for JavaScript v3's kinesisvideosignaling client (in
// Node 20, which its package supports), and the KVS WebRTC JS SDK's
// browser build as master and viewer in headless Chromium. Every client
// signs with its own SigV4 code and reaches the server over TLS
// (internal/testcert), as the JS SDK requires wss://.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/internal/httpserver"
	"github.com/streamwire/streamwire/internal/testcert"
	"github.com/streamwire/streamwire/signaling/kvs"
	"github.com/streamwire/streamwire/turnrest"
)

// Test credentials of the KVS tests (AWS's documentation example key).
const (
	kvsKeyID  = "AKIDEXAMPLE"
	kvsSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	kvsRegion = "us-west-2"
)

// kvsEnv is a kvs.Server served over TLS on loopback by internal/httpserver.
type kvsEnv struct {
	srv     *kvs.Server
	base    string // https://127.0.0.1:port
	client  *http.Client
	certPEM string // path of the server certificate, PEM
	spki    string // base64 SHA-256 of its SubjectPublicKeyInfo (Chromium's pin)
	mux     *http.ServeMux
}

// startKVS serves a kvs.Server for cfg (credentials: the test key) with
// TLS until the test ends; mux takes extra handlers.
func startKVS(t *testing.T, cfg kvs.Config) *kvsEnv {
	t.Helper()
	cfg.Credentials = map[string]string{kvsKeyID: kvsSecret}
	srv, err := kvs.New(cfg)
	require.NoError(t, err)
	serverTLS, clientTLS := testcert.Loopback(t)
	leaf := serverTLS.Certificates[0].Leaf
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	env := &kvsEnv{srv: srv, mux: http.NewServeMux(), spki: base64.StdEncoding.EncodeToString(sum[:]),
		client:  &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}},
		certPEM: filepath.Join(t.TempDir(), "cert.pem")}
	require.NoError(t, os.WriteFile(env.certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), 0o644))
	env.mux.Handle(srv.Pattern(), srv)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	env.base = "https://" + ln.Addr().String()
	hs := httpserver.New(httpserver.Config{Handler: env.mux, TLS: serverTLS})
	hs.RegisterOnShutdown(func() { _ = srv.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-served, httpserver.ErrServerClosed)
		assert.NoError(t, srv.Close())
		env.client.CloseIdleConnections()
	})
	return env
}

// kinesisVideo is aws-sdk-go-v2's control-plane client for env, with the
// test key and BaseEndpoint https://127.0.0.1:port/kvs; opts adjust it.
func (env *kvsEnv) kinesisVideo(opts ...func(*kinesisvideo.Options)) *kinesisvideo.Client {
	cfg := aws.Config{
		Region: kvsRegion,
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: kvsKeyID, SecretAccessKey: kvsSecret, Source: "test"}, nil
		})),
		HTTPClient:       env.client,
		RetryMaxAttempts: 1,
	}
	return kinesisvideo.NewFromConfig(cfg, append([]func(*kinesisvideo.Options){func(o *kinesisvideo.Options) {
		o.BaseEndpoint = aws.String(env.base + "/kvs")
	}}, opts...)...)
}

// skewedSigner signs as the SDK's own signer does, at a time off by skew.
type skewedSigner struct {
	*v4.Signer
	skew time.Duration
}

func (s skewedSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, at time.Time, opts ...func(*v4.SignerOptions)) error {
	return s.Signer.SignHTTP(ctx, creds, r, payloadHash, service, region, at.Add(s.skew), opts...)
}

// tamperingClient changes one byte of each request body after the SDK
// signed it.
type tamperingClient struct{ *http.Client }

func (c tamperingClient) Do(r *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	_ = r.Body.Close()
	body := strings.Replace(string(b), `"ChannelName":"door"`, `"ChannelName":"doos"`, 1)
	r.Body = io.NopCloser(strings.NewReader(body))
	return c.Client.Do(r)
}

// TestKVSGoSDK: aws-sdk-go-v2 service/kinesisvideo v1.34.0, pointed at the
// server by BaseEndpoint with static credentials, creates, describes and
// lists a channel and gets its endpoints; its signatures verify. The same
// client with a body changed by one byte after signing, with another
// secret, or signing 6 minutes off the server's clock, gets
// AccessDeniedException; a missing channel is ResourceNotFoundException.
func TestKVSGoSDK(t *testing.T) {
	env := startKVS(t, kvs.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kv := env.kinesisVideo()

	created, err := kv.CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{
		ChannelName:               aws.String("door"),
		ChannelType:               types.ChannelTypeSingleMaster,
		SingleMasterConfiguration: &types.SingleMasterConfiguration{MessageTtlSeconds: aws.Int32(30)},
		Tags:                      []types.Tag{{Key: aws.String("site"), Value: aws.String("lab")}},
	})
	require.NoError(t, err)
	arn := aws.ToString(created.ChannelARN)
	assert.True(t, strings.HasPrefix(arn, "arn:aws:kinesisvideo:us-east-1:000000000000:channel/door/"), arn)

	desc, err := kv.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String("door")})
	require.NoError(t, err)
	info := desc.ChannelInfo
	assert.Equal(t, arn, aws.ToString(info.ChannelARN))
	assert.Equal(t, types.StatusActive, info.ChannelStatus)
	assert.Equal(t, types.ChannelTypeSingleMaster, info.ChannelType)
	assert.Equal(t, int32(30), aws.ToInt32(info.SingleMasterConfiguration.MessageTtlSeconds))
	assert.WithinDuration(t, time.Now(), aws.ToTime(info.CreationTime), time.Minute)
	assert.Len(t, aws.ToString(info.Version), 20)

	_, err = kv.CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("window")})
	require.NoError(t, err)
	list, err := kv.ListSignalingChannels(ctx, &kinesisvideo.ListSignalingChannelsInput{
		ChannelNameCondition: &types.ChannelNameCondition{ComparisonOperator: types.ComparisonOperatorBeginsWith, ComparisonValue: aws.String("do")}})
	require.NoError(t, err)
	require.Len(t, list.ChannelInfoList, 1)
	assert.Equal(t, "door", aws.ToString(list.ChannelInfoList[0].ChannelName))
	var names []string
	pages := kinesisvideo.NewListSignalingChannelsPaginator(kv, &kinesisvideo.ListSignalingChannelsInput{MaxResults: aws.Int32(1)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		require.NoError(t, err)
		for _, c := range page.ChannelInfoList {
			names = append(names, aws.ToString(c.ChannelName))
		}
	}
	assert.Equal(t, []string{"door", "window"}, names)

	for _, role := range []types.ChannelRole{types.ChannelRoleMaster, types.ChannelRoleViewer} {
		ep, err := kv.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: aws.String(arn),
			SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
				Protocols: []types.ChannelProtocol{types.ChannelProtocolWss, types.ChannelProtocolHttps}, Role: role}})
		require.NoError(t, err)
		byProtocol := map[types.ChannelProtocol]string{}
		for _, e := range ep.ResourceEndpointList {
			byProtocol[e.Protocol] = aws.ToString(e.ResourceEndpoint)
		}
		host := strings.TrimPrefix(env.base, "https://")
		assert.Equal(t, map[types.ChannelProtocol]string{types.ChannelProtocolWss: "wss://" + host + "/kvs/ws",
			types.ChannelProtocolHttps: "https://" + host + "/kvs"}, byProtocol, role)
	}

	var denied *types.AccessDeniedException
	_, err = env.kinesisVideo(func(o *kinesisvideo.Options) { o.HTTPClient = tamperingClient{env.client} }).
		CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("door")})
	require.ErrorAs(t, err, &denied, "a body changed by one byte after signing")
	for _, skew := range []time.Duration{-6 * time.Minute, 6 * time.Minute} {
		_, err = env.kinesisVideo(func(o *kinesisvideo.Options) { o.HTTPSignerV4 = skewedSigner{v4.NewSigner(), skew} }).
			DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String("door")})
		require.ErrorAs(t, err, &denied, "signed %v off the server's clock", skew)
	}
	_, err = env.kinesisVideo(func(o *kinesisvideo.Options) { o.HTTPSignerV4 = skewedSigner{v4.NewSigner(), 4 * time.Minute} }).
		DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String("door")})
	require.NoError(t, err, "4 minutes of skew are allowed")
	_, err = env.kinesisVideo(func(o *kinesisvideo.Options) {
		o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: kvsKeyID, SecretAccessKey: "not-the-secret"}, nil
		})
	}).DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String("door")})
	require.ErrorAs(t, err, &denied)

	var notFound *types.ResourceNotFoundException
	_, err = kv.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String("attic")})
	require.ErrorAs(t, err, &notFound)
	var inUse *types.ResourceInUseException
	_, err = kv.CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("door")})
	require.ErrorAs(t, err, &inUse)

	_, err = kv.DeleteSignalingChannel(ctx, &kinesisvideo.DeleteSignalingChannelInput{ChannelARN: aws.String(arn), CurrentVersion: info.Version})
	require.NoError(t, err)
	_, err = kv.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelARN: aws.String(arn)})
	require.ErrorAs(t, err, &notFound)
}

// jsDir is the npm project of the JavaScript clients (installed by
// scripts/install-deps.sh with npm ci from its lock file).
const jsDir = "js"

// requireNodeModules fails the test when the npm packages are missing.
func requireNodeModules(t *testing.T, pkg string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", pkg, "package.json")); err != nil {
		t.Fatalf("npm package %s is not installed in interop/js (make test runs scripts/install-deps.sh, which runs npm ci there): %v", pkg, err)
	}
}

// jsCall is one line of interop/js/ice-config.mjs's output.
type jsCall struct {
	Call string `json:"call"`
	OK   *struct {
		IceServerList []struct {
			Uris     []string
			Username string
			Password string
			Ttl      int64
		}
	} `json:"ok"`
	Error *struct {
		Name    string `json:"name"`
		Status  int    `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
}

// TestKVSJSIceConfigCoturn: seed 001's GetIceServerConfig, made by the AWS
// SDK for JavaScript v3 (@aws-sdk/client-kinesis-video-signaling, in Node
// 20) against the HTTPS ResourceEndpoint: its signed request verifies and
// gets an IceServerList minted by turnrest, and a real coturn accepts that
// credential for a TURN allocation. The same call with a body changed by
// one byte after signing, or signed with another secret, gets
// AccessDeniedException.
func TestKVSJSIceConfigCoturn(t *testing.T) {
	requireNodeModules(t, "@aws-sdk/client-kinesis-video-signaling")
	c := startCoturn(t, "--use-auth-secret", "--static-auth-secret=kvs-secret", "--realm=streamwire")
	minter, err := turnrest.New(turnrest.Config{Secrets: []string{"kvs-secret"}, TTL: 300 * time.Second,
		URIs: []string{"turn:" + c.Addr() + "?transport=udp", "turns:" + c.Addr() + "?transport=tcp", "stun:" + c.Addr()}})
	require.NoError(t, err)
	env := startKVS(t, kvs.Config{ICE: minter})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	created, err := env.kinesisVideo().CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("ice")})
	require.NoError(t, err)

	cmd := exec.CommandContext(ctx, "node", "ice-config.mjs")
	cmd.Dir = jsDir
	cmd.Env = append(os.Environ(), "KVS_ENDPOINT="+env.base+"/kvs", "KVS_CHANNEL_ARN="+aws.ToString(created.ChannelARN),
		"KVS_CLIENT_ID=viewer-7", "KVS_REGION="+kvsRegion, "KVS_ACCESS_KEY="+kvsKeyID, "KVS_SECRET_KEY="+kvsSecret,
		"NODE_EXTRA_CA_CERTS="+env.certPEM)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	calls := map[string]jsCall{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var c jsCall
		if json.Unmarshal(sc.Bytes(), &c) == nil && c.Call != "" {
			calls[c.Call] = c
		}
	}
	t.Logf("node: %s", out)
	signed := calls["signed"]
	require.NotNil(t, signed.OK, "%s", out)
	require.Len(t, signed.OK.IceServerList, 1)
	ice := signed.OK.IceServerList[0]
	assert.Equal(t, []string{"turn:" + c.Addr() + "?transport=udp", "turns:" + c.Addr() + "?transport=tcp"}, ice.Uris, "TURN URIs only")
	assert.True(t, strings.HasSuffix(ice.Username, ":viewer-7"), ice.Username)
	assert.Equal(t, int64(300), ice.Ttl)
	for _, name := range []string{"wrong-secret", "tampered"} {
		e := calls[name].Error
		require.NotNil(t, e, "%s: %s", name, out)
		assert.Equal(t, "AccessDeniedException", e.Name, name)
		assert.Equal(t, http.StatusForbidden, e.Status, name)
	}

	relay, err := turnrestAllocate(t, c.Addr(), ice.Username, ice.Password)
	require.NoError(t, err, "coturn refused the credential GetIceServerConfig handed out")
	t.Logf("coturn relayed address: %v", relay)
	_, err = turnrestAllocate(t, c.Addr(), ice.Username, ice.Password+"x")
	require.Error(t, err, "coturn accepted a wrong password: the check above proves nothing")
}
