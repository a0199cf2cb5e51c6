//! Conformance checks of recorded exchanges against the forges' official
//! API descriptions (`forge-specs/`): REST requests and responses against
//! the OpenAPI documents, GraphQL documents against the schemas.
//!
//! Owned by the conformance engineer; empty so far. Inputs are
//! [`crate::record::Exchange`]s (`Emulator::exchanges`) and
//! [`crate::specs::Specs`]; GraphQL documents are already validated on
//! arrival (see [`crate::graphql`] and `Emulator::violations`).
