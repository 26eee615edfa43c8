package dtlsparams_test

import (
	"fmt"

	"github.com/streamwire/streamwire/dtlsparams"
)

// The a=fingerprint value of a browser's offer, parsed and written back in
// canonical form.
func ExampleParseFingerprint() {
	f, err := dtlsparams.ParseFingerprint("SHA-256 e0:54:7b:2c:a4:36:15:1a:5d:fe:b6:43:c6:90:cd:7e:96:2b:59:67:a1:a6:85:df:db:1e:eb:5e:35:a5:44:41")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Algorithm(), len(f.Digest()), "bytes")
	fmt.Println("a=fingerprint:" + f.String())

	_, err = dtlsparams.ParseFingerprint("md5 00:11:22")
	fmt.Println(err)
	// Output:
	// sha-256 32 bytes
	// a=fingerprint:sha-256 E0:54:7B:2C:A4:36:15:1A:5D:FE:B6:43:C6:90:CD:7E:96:2B:59:67:A1:A6:85:DF:DB:1E:EB:5E:35:A5:44:41
	// dtlsparams: unsupported fingerprint hash function: "md5"
}

// A server answering a browser's offer: the browser sends a=setup:actpass,
// so by default we answer active and open the DTLS connection as client.
func ExampleSelectRole() {
	remote, _ := dtlsparams.ParseSetup("actpass")

	role, setup, _ := dtlsparams.SelectRole(dtlsparams.Answerer, remote, dtlsparams.RolePolicy{})
	fmt.Printf("default: role %v, answer a=setup:%v\n", role, setup)

	role, setup, _ = dtlsparams.SelectRole(dtlsparams.Answerer, remote, dtlsparams.RolePolicy{AnswerPassive: true})
	fmt.Printf("passive policy: role %v, answer a=setup:%v\n", role, setup)

	// We offered actpass and the peer answered active: we are the server.
	active, _ := dtlsparams.ParseSetup("active")
	role, _, _ = dtlsparams.SelectRole(dtlsparams.Offerer, active, dtlsparams.RolePolicy{})
	fmt.Printf("offerer, answer active: role %v\n", role)

	// An answer may not be actpass.
	_, _, err := dtlsparams.SelectRole(dtlsparams.Offerer, dtlsparams.SetupActpass, dtlsparams.RolePolicy{})
	fmt.Println(err)
	// Output:
	// default: role client, answer a=setup:active
	// passive policy: role server, answer a=setup:passive
	// offerer, answer active: role server
	// dtlsparams: impossible DTLS role combination: answer must not be actpass
}
