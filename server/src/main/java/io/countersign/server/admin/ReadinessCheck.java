package io.countersign.server.admin;

/**
 * One condition for {@code /readyz}. Components register theirs with
 * {@link AdminHttpServer#addReadinessCheck}; Countersign is ready when every check is.
 * Each request runs every check at once on virtual threads; a check may block, but one that takes
 * longer than two seconds is reported as not ready.
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
