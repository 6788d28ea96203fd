package io.countersign.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The shared libraries the image must carry besides the JRE: everything the JRE's ELF files and the
 * linux-amd64 native libraries inside the application's jars (Netty's epoll transport, snappy,
 * zstd) link against, found with this machine's {@code ldd}, plus the ones glibc itself opens at
 * run time. The image's C library is therefore this build machine's glibc, copied file by file.
 */
final class NativeLibraries {

    /** glibc dlopen()s these (unwinding for thread cancellation, name service on glibc before 2.34). */
    private static final List<String> OPENED_BY_GLIBC = List.of("libgcc_s.so.1", "libnss_files.so.2", "libnss_dns.so.2", "libresolv.so.2");
    private static final List<Path> SYSTEM_DIRS = List.of(Path.of("/lib/x86_64-linux-gnu"), Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/lib64"), Path.of("/usr/lib64"));
    private static final Pattern RESOLVED = Pattern.compile("^\\s*(\\S+) => (/\\S+) \\(0x[0-9a-f]+\\)$");
    private static final Pattern LOADER = Pattern.compile("^\\s*(/\\S+) \\(0x[0-9a-f]+\\)$");
    private static final Pattern MISSING = Pattern.compile("^\\s*(\\S+) => not found$");

    private NativeLibraries() {}

    /**
     * The host paths of the libraries needed, as {@code ldd} names them (the path they get in the image).
     *
     * @param jre     the jlinked runtime
     * @param jars    the application's jars, searched for native libraries
     * @param scratch where native libraries are unpacked for {@code ldd}
     */
    static Set<Path> needed(Path jre, List<Path> jars, Path scratch) throws IOException, InterruptedException {
        requireLinuxAmd64();
        Set<String> jreOwn = new TreeSet<>();
        List<Path> elves = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(jre)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (Files.isRegularFile(p) && isLinuxAmd64Elf(p)) {
                    elves.add(p);
                    jreOwn.add(p.getFileName().toString());
                }
            }
        }
        elves.addAll(unpackJarNatives(jars, scratch));
        Set<Path> needed = new TreeSet<>();
        for (Path elf : elves) {
            for (Path lib : ldd(elf, jreOwn)) {
                // the JRE's own libraries and the unpacked ones are in the image already
                if (!lib.normalize().startsWith(jre) && !lib.normalize().startsWith(scratch)) {
                    needed.add(lib);
                }
            }
        }
        for (String name : OPENED_BY_GLIBC) {
            SYSTEM_DIRS.stream().map(d -> d.resolve(name)).filter(Files::isRegularFile).findFirst().ifPresent(needed::add);
        }
        return needed;
    }

    private static void requireLinuxAmd64() {
        String os = System.getProperty("os.name");
        String arch = System.getProperty("os.arch");
        if (!"Linux".equals(os) || !"amd64".equals(arch)) {
            throw new IllegalStateException("the image's C library is copied from the build machine, so it must be built on linux/amd64 with glibc;"
                    + " this is " + os + "/" + arch + " (build the image on a Linux amd64 machine or in CI)");
        }
    }

    private static List<Path> unpackJarNatives(List<Path> jars, Path scratch) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path jar : jars) {
            try (ZipFile zip = new ZipFile(jar.toFile())) {
                Enumeration<? extends ZipEntry> en = zip.entries();
                while (en.hasMoreElements()) {
                    ZipEntry e = en.nextElement();
                    String name = e.getName();
                    if (e.isDirectory() || !JarSlimmer.NATIVE_NAME.matcher(name).matches() || JarSlimmer.OTHER_PLATFORM.matcher(name).matches()) {
                        continue;
                    }
                    Path target = scratch.resolve(jar.getFileName() + "!").resolve(name).normalize();
                    if (!target.startsWith(scratch)) {
                        throw new IOException(jar + ": entry " + name + " points outside the unpack directory");
                    }
                    Files.createDirectories(target.getParent());
                    try (InputStream in = zip.getInputStream(e)) {
                        Files.copy(in, target);
                    }
                    if (isLinuxAmd64Elf(target)) {
                        out.add(target);
                    }
                }
            }
        }
        return out;
    }

    static boolean isLinuxAmd64Elf(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            return isLinuxAmd64Elf(in.readNBytes(20));
        }
    }

    /** ELF, 64-bit, System V or GNU/Linux ABI, x86-64 (from the file's first 20 bytes). */
    static boolean isLinuxAmd64Elf(byte[] h) {
        if (h.length < 20) {
            return false;
        }
        boolean elf = h[0] == 0x7f && h[1] == 'E' && h[2] == 'L' && h[3] == 'F';
        boolean abi = h[7] == 0 || h[7] == 3;
        int machine = (h[18] & 0xff) | (h[19] & 0xff) << 8;
        return elf && h[4] == 2 && abi && machine == 62;
    }

    private static Set<Path> ldd(Path elf, Set<String> jreOwn) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ldd", elf.toString()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("ldd " + elf + " did not finish in 60 s");
        }
        Set<Path> found = new TreeSet<>();
        if (output.contains("statically linked") || output.contains("not a dynamic executable")) {
            return found;
        }
        for (String line : output.split("\n")) {
            Matcher m;
            if ((m = RESOLVED.matcher(line)).matches()) {
                found.add(Path.of(m.group(2)));
            } else if ((m = LOADER.matcher(line)).matches()) {
                found.add(Path.of(m.group(1)));
            } else if ((m = MISSING.matcher(line)).matches() && !jreOwn.contains(m.group(1))) {
                throw new IOException(elf + " needs " + m.group(1) + ", which this machine does not have (ldd: not found);"
                        + " install the Debian package that provides it, or leave the jar that carries " + elf.getFileName() + " out of the image");
            }
        }
        if (p.exitValue() != 0 && found.isEmpty()) {
            throw new IOException("ldd " + elf + " failed (exit " + p.exitValue() + "): " + output.strip());
        }
        return found;
    }
}
