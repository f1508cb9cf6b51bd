//! Boot information.
