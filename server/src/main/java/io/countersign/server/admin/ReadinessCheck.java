package io.countersign.server.admin;

/**
 * One condition for {@code /readyz}. Components register theirs with
 * {@link AdminHttpServer#addReadinessCheck}; Countersign is ready when every check is.
 * Checks run on a virtual thread per request and may block briefly (keep them under a second).
 */
@FunctionalInterface
public interface ReadinessCheck {

    Status check();

    record Status(boolean ready, String detail) {
        public static Status ready(String detail) {
            return new Status(true, detail);
        }

        public static Status notReady(String detail) {
            return new Status(false, detail);
        }
    }
}
