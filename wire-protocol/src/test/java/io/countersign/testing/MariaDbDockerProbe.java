package io.countersign.testing;

/** Testcontainers MariaDB, touched only when a Docker engine answers (see {@link DockerProbe}). */
final class MariaDbDockerProbe {

    private MariaDbDockerProbe() {}

    static boolean available() {
        return Boolean.getBoolean("countersign.test.docker") || DockerProbe.available();
    }

    static MariaDbServer start() {
        try {
            // the server's socket in a host directory, so tests of backends reached over a socket find it
            java.nio.file.Path sockets = java.nio.file.Files.createTempDirectory("countersign-mariadb-socket-");
            sockets.toFile().setWritable(true, false);
            sockets.toFile().setExecutable(true, false);
            var container = new org.testcontainers.containers.MariaDBContainer<>("mariadb:10.11");
            container.withUsername("root").withPassword("");
            container.withFileSystemBind(sockets.toString(), "/run/countersign-socket");
            container.withCommand("--socket=/run/countersign-socket/mysqld.sock");
            container.start();
            return MariaDbServer.fromContainer(container.getHost(), container.getFirstMappedPort(), "root", "",
                    sockets.resolve("mysqld.sock"));
        } catch (Throwable t) {
            return null;
        }
    }
}
