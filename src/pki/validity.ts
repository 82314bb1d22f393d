// Validity rules of the certificates cockroach writes, apart from the issuing code (which loads
// @peculiar/x509) so readers such as the report's forecast can use them without loading it.

/** `validFrom`: NotBefore is backdated a day "to handle clock issues, specifically boot2docker". */
export const VALID_FROM_MS = 24 * 3600 * 1000;
