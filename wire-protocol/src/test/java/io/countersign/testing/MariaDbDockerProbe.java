package io.countersign.testing;

/** Testcontainers MariaDB, touched only when a Docker engine answers (see {@link DockerProbe}). */
final class MariaDbDockerProbe {

    private MariaDbDockerProbe() {}

    static boolean available() {
        return Boolean.getBoolean("countersign.test.docker") || DockerProbe.available();
    }

    static MariaDbServer start() {
        try {
            var container = new org.testcontainers.containers.MariaDBContainer<>("mariadb:10.11");
            container.withUsername("root").withPassword("");
            container.start();
            return MariaDbServer.fromContainer(container.getHost(), container.getFirstMappedPort(), "root", "");
        } catch (Throwable t) {
            return null;
        }
    }
}
