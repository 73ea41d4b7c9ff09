package dev.kindling.spark;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Files on a Hadoop-compatible file system (local, HDFS, S3 ... by URI), usable on executors: it carries the
 * driver's Hadoop configuration as plain strings, so credentials and endpoints set on the driver apply there too.
 */
final class HadoopFiles implements Serializable {
    private static final long serialVersionUID = 1L;
    private final Map<String, String> settings;
    private transient Configuration conf;

    private HadoopFiles(Map<String, String> settings) {
        this.settings = settings;
    }

    static HadoopFiles of(Configuration conf) {
        Map<String, String> m = new HashMap<>();
        for (Map.Entry<String, String> e : conf) m.put(e.getKey(), e.getValue());
        return new HadoopFiles(m);
    }

    Configuration conf() {
        if (conf == null) {
            Configuration c = new Configuration(false);
            settings.forEach(c::set);
            conf = c;
        }
        return conf;
    }

    FileSystem fs(String uri) throws IOException {
        return new Path(uri).getFileSystem(conf());
    }

    static String child(String dir, String name) {
        return new Path(dir, name).toString();
    }

    boolean exists(String uri) throws IOException {
        return fs(uri).exists(new Path(uri));
    }

    /** Whether {@code uri} names a file of this machine's file system (so it can be read in place). */
    static boolean isLocal(String uri) {
        String scheme = URI.create(uri.replace(" ", "%20")).getScheme();
        return scheme == null || scheme.equals("file");
    }

    /**
     * Copies a local file to {@code uri} through a temporary name and a rename, so that readers see either the
     * old file or the whole new one (on stores without atomic rename, such as S3, nearly so).
     */
    void upload(java.nio.file.Path local, String uri) throws IOException {
        Path dst = new Path(uri);
        FileSystem fs = dst.getFileSystem(conf());
        Path tmp = new Path(dst.getParent(), "." + dst.getName() + "." + UUID.randomUUID() + ".tmp");
        fs.mkdirs(dst.getParent());
        try (InputStream in = Files.newInputStream(local); OutputStream out = fs.create(tmp, true)) {
            in.transferTo(out);
        }
        fs.delete(dst, false);
        if (!fs.rename(tmp, dst)) {
            fs.delete(tmp, false);
            throw new IOException("could not rename " + tmp + " to " + dst);
        }
    }

    /** Copies {@code uri} to the local file {@code local}. */
    void download(String uri, java.nio.file.Path local) throws IOException {
        Path src = new Path(uri);
        try (InputStream in = src.getFileSystem(conf()).open(src)) {
            Files.copy(in, local, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Copies every file directly in the folder {@code uri} into the local folder {@code local}. */
    void downloadFolder(String uri, java.nio.file.Path local) throws IOException {
        Path src = new Path(uri);
        FileSystem fs = src.getFileSystem(conf());
        if (!fs.getFileStatus(src).isDirectory()) throw new IOException(uri + " is not a folder");
        Files.createDirectories(local);
        for (FileStatus st : fs.listStatus(src))
            if (st.isFile()) download(st.getPath().toString(), local.resolve(st.getPath().getName()));
    }

    void writeString(String uri, String text) throws IOException {
        java.nio.file.Path tmp = Files.createTempFile("kindling-", ".txt");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            upload(tmp, uri);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    String readString(String uri) throws IOException {
        Path src = new Path(uri);
        try (InputStream in = src.getFileSystem(conf()).open(src)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static UncheckedIOException unchecked(String what, IOException e) {
        return new UncheckedIOException(what + ": " + e.getMessage(), e);
    }
}
