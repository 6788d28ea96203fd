package io.countersign.approvals.oidc;

/** An ID token failed one check; {@link #check()} says which, the message says why in words. */
public final class TokenRejectedException extends Exception {

    /** The checks of {@link IdTokenValidator}, in the order they run. */
    public enum Check { MALFORMED, ALGORITHM, UNKNOWN_KEY, KEYS_UNAVAILABLE, SIGNATURE, ISSUER, AUDIENCE, EXPIRED, NOT_YET_VALID, NONCE,
        ACCESS_TOKEN_HASH }

    private final Check check;

    public TokenRejectedException(Check check, String message) {
        super(message, null, false, false);
        this.check = check;
    }

    public Check check() {
        return check;
    }
}
