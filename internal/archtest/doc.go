// Package archtest holds the import rules of the whole tree as a test
// (archtest_test.go): every import points down the layers, drift stays pure,
// the scan contract depends on the domain only, the engines never reach for
// the collectors or the daemon, and only the commands start a daemon.
package archtest
