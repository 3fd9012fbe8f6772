//! The macro's arguments, `["folder"] [, verify = "sqlite"]`, and their
//! expansion through [`migrate_runtime::embed::codegen::embed`].

use migrate_runtime::embed::codegen::{self, Chain, Verify};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use std::path::Path;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

/// `embed_migrations!(…)`'s input.
pub struct Input {
    /// The folder literal, when given.
    folder: Option<LitStr>,
    verify: Verify,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Input> {
        let mut parsed = Input { folder: None, verify: Verify::Off };
        if input.peek(LitStr) {
            parsed.folder = Some(input.parse()?);
            comma(input)?;
        }
        while !input.is_empty() {
            let key: Ident = input.parse().map_err(|e| syn::Error::new(e.span(), EXPECTED))?;
            if key != "verify" {
                return Err(syn::Error::new(key.span(), format!("unknown argument `{key}`: {EXPECTED}")));
            }
            input.parse::<Token![=]>()?;
            let dialect: LitStr = input.parse()?;
            parsed.verify = match dialect.value().as_str() {
                "sqlite" => Verify::Sqlite,
                other => {
                    let message =
                        format!("cannot verify on `{other}`: only `verify = \"sqlite\"` is supported");
                    return Err(syn::Error::new(dialect.span(), message));
                }
            };
            comma(input)?;
        }
        Ok(parsed)
    }
}

const EXPECTED: &str =
    "expected a folder path such as `\"migrations\"`, then optionally `verify = \"sqlite\"`";

/// A comma, unless the input ends here.
fn comma(input: ParseStream<'_>) -> syn::Result<()> {
    if !input.is_empty() {
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

impl Input {
    /// The `Migrations` expression, or one error per problem found, each
    /// spanning the folder literal (else the whole call).
    pub fn expand(&self) -> syn::Result<TokenStream> {
        let span = self.folder.as_ref().map_or_else(Span::call_site, LitStr::span);
        let folder = self.folder.as_ref().map_or_else(|| "migrations".to_string(), LitStr::value);
        // Never the current directory: rust-analyzer expands macros from
        // another one.
        let Some(root) = std::env::var_os("CARGO_MANIFEST_DIR") else {
            return Err(syn::Error::new(span, "CARGO_MANIFEST_DIR is not set: build with cargo"));
        };
        let package = std::env::var("CARGO_PKG_NAME").unwrap_or_default();
        let chain = Chain {
            package: &package,
            package_root: Path::new(&root),
            folder: Path::new(&folder),
            verify: self.verify,
        };
        match codegen::embed(&chain) {
            Ok(embedded) => Ok(embedded.tokens),
            Err(errors) => Err(combine(errors.0.iter().map(|e| syn::Error::new(span, e)))),
        }
    }
}

fn combine(errors: impl Iterator<Item = syn::Error>) -> syn::Error {
    errors
        .reduce(|mut all, error| {
            all.combine(error);
            all
        })
        .unwrap_or_else(|| syn::Error::new(Span::call_site(), "the chain could not be embedded"))
}

/// Every error as a `compile_error!`, followed by an empty chain, so the
/// `static` the macro initialises gets no second error of its own.
pub fn into_compile_errors(error: syn::Error) -> TokenStream {
    let errors = error.into_compile_error();
    quote! {{
        #errors
        ::migrate_runtime::embed::Migrations { package: "", history_table: "", revisions: &[], snapshots: &[] }
    }}
}
