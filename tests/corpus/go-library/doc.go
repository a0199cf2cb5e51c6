// Package library holds small helpers; see the semver subpackage.
package library

// Version is the version of this module.
const Version = "0.7.0"
