/** The compiler's version, stamped into emitted modules and printed by `armorc --version`. */
export const VERSION = "0.1.0";
