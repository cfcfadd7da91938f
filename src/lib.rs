//! sluice: a fast secret and artifact scanner for packages and registry mirrors.
