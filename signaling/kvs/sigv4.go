package kvs

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SigV4 (the AWS Signature Version 4 signing process; signaling.md §3.1,
// §3.6). The expected signature is computed by aws-sdk-go-v2's own signer
// over a copy of the request that holds exactly what the client signed:
// its method, path and query, the headers it names in SignedHeaders, its
// X-Amz-Date, X-Amz-Expires and security token, and the payload's hash.
// What the client did not sign is not looked at, so a proxy may add
// headers; what it signed cannot change by a byte.

// Names of the SigV4 parameters.
const (
	sigAlgorithm  = "AWS4-HMAC-SHA256"
	sigService    = "kinesisvideo"
	sigTerminator = "aws4_request"
	amzDateFormat = "20060102T150405Z"

	qAlgorithm     = "X-Amz-Algorithm"
	qCredential    = "X-Amz-Credential"
	qDate          = "X-Amz-Date"
	qExpires       = "X-Amz-Expires"
	qSignedHeaders = "X-Amz-SignedHeaders"
	qSignature     = "X-Amz-Signature"
	qSecurityToken = "X-Amz-Security-Token"
	hContentSHA256 = "X-Amz-Content-Sha256"
)

// maxPresignExpiry is the longest X-Amz-Expires SigV4 allows: 7 days.
const maxPresignExpiry = 7 * 24 * time.Hour

// verifier checks SigV4 signatures against Config.Credentials.
type verifier struct {
	creds   map[string]string
	skew    time.Duration
	clock   Clock
	signer  *v4.Signer
	enabled bool
}

func newVerifier(cfg Config) *verifier {
	return &verifier{creds: cfg.Credentials, skew: cfg.MaxClockSkew, clock: cfg.Clock,
		signer: v4.NewSigner(), enabled: len(cfg.Credentials) > 0}
}

// credential is a parsed "AKID/yyyymmdd/region/service/aws4_request".
type credential struct {
	keyID, day, region string
}

// parseCredential parses and checks a credential scope: the service must
// be kinesisvideo and the day that of amzDate.
func parseCredential(s, amzDate string) (credential, error) {
	p := strings.Split(s, "/")
	if len(p) != 5 || p[0] == "" || p[2] == "" || p[4] != sigTerminator {
		return credential{}, denied("Credential should be scoped to a valid region, service and date.")
	}
	if p[3] != sigService {
		return credential{}, denied("Credential should be scoped to correct service: '" + sigService + "'.")
	}
	if !strings.HasPrefix(amzDate, p[1]) || len(p[1]) != 8 {
		return credential{}, denied("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.")
	}
	return credential{keyID: p[0], day: p[1], region: p[2]}, nil
}

// denied is an ErrAccessDenied with msg.
func denied(msg string) *APIError { return Errorf(ErrAccessDenied, "%s", msg) }

// secret returns the secret key of c's access key id.
func (v *verifier) secret(c credential) (string, error) {
	s, ok := v.creds[c.keyID]
	if !ok {
		return "", denied("The security token included in the request is invalid.")
	}
	return s, nil
}

// parseDate parses an X-Amz-Date value.
func parseDate(s string) (time.Time, error) {
	t, err := time.Parse(amzDateFormat, s)
	if err != nil {
		return time.Time{}, denied("X-Amz-Date must be in the ISO-8601 basic format yyyyMMdd'T'HHmmss'Z'.")
	}
	return t, nil
}

// checkSkew refuses a signing time more than the allowed skew from now,
// with AWS's wording.
func (v *verifier) checkSkew(t time.Time) error {
	now := v.clock.Now().UTC()
	switch {
	case t.Before(now.Add(-v.skew)):
		return denied("Signature expired: " + t.Format(amzDateFormat) + " is now earlier than " +
			now.Add(-v.skew).Format(amzDateFormat) + " (" + now.Format(amzDateFormat) + " - " + v.skew.String() + ").")
	case t.After(now.Add(v.skew)):
		return denied("Signature not yet current: " + t.Format(amzDateFormat) + " is still later than " +
			now.Add(v.skew).Format(amzDateFormat) + " (" + now.Format(amzDateFormat) + " + " + v.skew.String() + ").")
	}
	return nil
}

// parseAuthorization splits "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
func parseAuthorization(h string) (cred, signedHeaders, signature string, err error) {
	rest, ok := strings.CutPrefix(h, sigAlgorithm+" ")
	if !ok {
		return "", "", "", denied("Authorization header requires the " + sigAlgorithm + " algorithm.")
	}
	for _, part := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = val
		case "SignedHeaders":
			signedHeaders = val
		case "Signature":
			signature = val
		}
	}
	if cred == "" || signedHeaders == "" || signature == "" {
		return "", "", "", denied("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
	}
	return cred, signedHeaders, signature, nil
}

// verifyRequest checks the Authorization header of an HTTP call whose body
// is body. It does nothing when no credentials are configured.
func (v *verifier) verifyRequest(r *http.Request, body []byte) error {
	if !v.enabled {
		return nil
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return denied("Missing Authentication Token")
	}
	credStr, signedHeaders, signature, err := parseAuthorization(auth)
	if err != nil {
		return err
	}
	amzDate := r.Header.Get(qDate)
	when, err := parseDate(amzDate)
	if err != nil {
		return err
	}
	cred, err := parseCredential(credStr, amzDate)
	if err != nil {
		return err
	}
	secret, err := v.secret(cred)
	if err != nil {
		return err
	}
	if err := v.checkSkew(when); err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := r.Header.Get(hContentSHA256); h != "" && h != payloadHash {
		return denied("The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	req, err := signedCopy(r, signedHeaders)
	if err != nil {
		return err
	}
	creds := aws.Credentials{AccessKeyID: cred.keyID, SecretAccessKey: secret, SessionToken: r.Header.Get(qSecurityToken)}
	if err := v.signer.SignHTTP(context.Background(), creds, req, payloadHash, sigService, cred.region, when); err != nil {
		return denied("The request signature could not be computed.")
	}
	_, _, want, err := parseAuthorization(req.Header.Get("Authorization"))
	if err != nil || !hmac.Equal([]byte(want), []byte(signature)) {
		return denied("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return nil
}

// signedCopy returns a request with r's method, host, path and query and
// only the headers named in signedHeaders (lower case, ';'-separated), for
// the signer to sign again. The signer itself adds X-Amz-Date, the security
// token and, for a body, Content-Length; it always signs host and never
// signs the headers of v4's IgnoredHeaders, so a client that signed one of
// those, or did not sign host, cannot be verified.
func signedCopy(r *http.Request, signedHeaders string) (*http.Request, error) {
	u := &url.URL{Scheme: "https", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	req := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: http.Header{}}
	host := false
	for _, name := range strings.Split(signedHeaders, ";") {
		key := http.CanonicalHeaderKey(name)
		switch key {
		case "Host":
			host = true
		case "Content-Length":
			req.ContentLength = r.ContentLength
		case "Authorization", "User-Agent", "X-Amzn-Trace-Id", "Expect", "Transfer-Encoding":
			return nil, denied("The signed header '" + name + "' cannot be verified by this server.")
		default:
			vals, ok := r.Header[key]
			if !ok || name != strings.ToLower(name) {
				return nil, denied("The request signature we calculated does not match the signature you provided: signed header '" + name + "' is missing.")
			}
			req.Header[key] = vals
		}
	}
	if !host {
		return nil, denied("'Host' must be a signed header.")
	}
	return req, nil
}

// presigned is what verifyPresigned found in a presigned URL.
type presigned struct {
	keyID string // "" when no credentials are configured
}

// verifyPresigned checks the SigV4 query of a presigned GET (the
// WebSocket URL the KVS SDKs build, signaling.md §3.6): algorithm,
// credential scope, signing time within the skew, not expired, and the
// signature over the query without X-Amz-Signature and the signed
// headers.
func (v *verifier) verifyPresigned(r *http.Request) (presigned, error) {
	if !v.enabled {
		return presigned{}, nil
	}
	q := r.URL.Query()
	if q.Get(qAlgorithm) != sigAlgorithm {
		return presigned{}, denied("X-Amz-Algorithm must be " + sigAlgorithm + ".")
	}
	amzDate := q.Get(qDate)
	when, err := parseDate(amzDate)
	if err != nil {
		return presigned{}, err
	}
	cred, err := parseCredential(q.Get(qCredential), amzDate)
	if err != nil {
		return presigned{}, err
	}
	secret, err := v.secret(cred)
	if err != nil {
		return presigned{}, err
	}
	expires, err := strconv.Atoi(q.Get(qExpires))
	if err != nil || expires < 1 || time.Duration(expires)*time.Second > maxPresignExpiry {
		return presigned{}, denied("X-Amz-Expires must be between 1 and 604800 seconds.")
	}
	now := v.clock.Now().UTC()
	if end := when.Add(time.Duration(expires) * time.Second); now.After(end) {
		return presigned{}, denied("Request has expired: it was valid until " + end.Format(amzDateFormat) + ".")
	}
	if when.After(now.Add(v.skew)) {
		return presigned{}, v.checkSkew(when)
	}
	signature := q.Get(qSignature)
	signedHeaders := q.Get(qSignedHeaders)
	token := q.Get(qSecurityToken)
	for _, k := range []string{qSignature, qAlgorithm, qCredential, qDate, qSignedHeaders, qSecurityToken} {
		q.Del(k)
	}
	req, err := signedCopy(r, signedHeaders)
	if err != nil {
		return presigned{}, err
	}
	req.Method = http.MethodGet
	req.URL.RawQuery = q.Encode()
	creds := aws.Credentials{AccessKeyID: cred.keyID, SecretAccessKey: secret, SessionToken: token}
	uri, _, err := v.signer.PresignHTTP(context.Background(), creds, req, v4EmptySHA256, sigService, cred.region, when,
		func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true })
	if err != nil {
		return presigned{}, denied("The request signature could not be computed.")
	}
	i := strings.LastIndex(uri, "&"+qSignature+"=")
	if i < 0 || !hmac.Equal([]byte(uri[i+len(qSignature)+2:]), []byte(signature)) {
		return presigned{}, denied("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return presigned{keyID: cred.keyID}, nil
}

// v4EmptySHA256 is the payload hash of a GET: SHA-256 of nothing.
const v4EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
