package io.countersign.analysis;

/** What makes a statement worth a human's attention. Policy rules match on these. */
public enum Category {
    /** Moves data out in bulk: COPY TO, INTO OUTFILE, file functions, unbounded reads of large tables. */
    EXPORT,
    /** Reads a column declared sensitive. */
    SENSITIVE_READ,
    /** Writes a column declared sensitive. */
    SENSITIVE_WRITE,
    /** Changes who may do what: GRANT, REVOKE, roles, owners, SECURITY DEFINER, ALTER SYSTEM. */
    PRIVILEGE,
    /** Destroys data or structure: DROP, TRUNCATE, DELETE/UPDATE without a real WHERE. */
    DESTRUCTIVE,
    /** Calls a function that reaches outside the database or runs arbitrary code. */
    DANGEROUS_FUNCTION,
    /** Changes the session's identity: SET ROLE, SET SESSION AUTHORIZATION, set_config('role', ...). */
    SESSION_AUTH,
    /** No analysis layer could settle what the statement does: held, fail closed. */
    UNANALYSABLE
}
