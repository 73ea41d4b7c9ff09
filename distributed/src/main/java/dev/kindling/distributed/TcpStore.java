package dev.kindling.distributed;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * A tiny key-value store for rendezvous (PyTorch's TCPStore): rank 0 serves it with {@link #serve}, every
 * rank (rank 0 included) talks to it through a {@code TcpStore} client. Ranks publish their listening
 * addresses in it and read their neighbours'; a failing rank also records why, so that the others can name
 * who failed. Values are bytes; {@link #get} waits for a key that is not set yet.
 */
public final class TcpStore implements AutoCloseable {
    private static final byte SET = 1, GET = 2, CHECK = 3, ADD = 4;
    private static final byte OK = 0, MISSING = 1;

    private final String host;
    private final int port;
    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;

    /**
     * Connects to the store at {@code host:port}, retrying until {@code timeout} passes (the server may
     * still be starting).
     */
    public TcpStore(String host, int port, Duration timeout) {
        this.host = host;
        this.port = port;
        long deadline = System.nanoTime() + timeout.toNanos();
        Socket s = null;
        while (s == null) {
            try {
                s = new Socket();
                s.connect(new InetSocketAddress(host, port), (int) Math.max(1, Math.min(timeout.toMillis(), 2000)));
                s.setTcpNoDelay(true);
            } catch (IOException e) {
                try { s.close(); } catch (IOException ignored) { }
                s = null;
                if (System.nanoTime() > deadline)
                    throw new DistributedException("store: could not connect to " + host + ":" + port + " within "
                            + timeout.toMillis() + " ms (is rank 0 running?): " + e.getMessage(), e);
                sleep(50);
            }
        }
        socket = s;
        try {
            in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
        } catch (IOException e) {
            throw new DistributedException("store: could not open streams to " + host + ":" + port, e);
        }
    }

    /** Sets {@code key} to {@code value}, waking ranks waiting for it. */
    public synchronized void set(String key, byte[] value) {
        try {
            out.writeByte(SET);
            out.writeUTF(key);
            out.writeInt(value.length);
            out.write(value);
            out.flush();
            expectOk(key, "set");
        } catch (IOException e) {
            throw failure("set", key, e);
        }
    }

    /** The value of {@code key}, waiting up to {@code timeout} for some rank to set it. */
    public synchronized byte[] get(String key, Duration timeout) {
        try {
            socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis() + 5000));
            out.writeByte(GET);
            out.writeUTF(key);
            out.writeLong(timeout.toMillis());
            out.flush();
            byte status = in.readByte();
            if (status == MISSING)
                throw new DistributedException("store: key '" + key + "' was not set within " + timeout.toMillis() + " ms");
            return readValue();
        } catch (IOException e) {
            throw failure("get", key, e);
        }
    }

    /** The value of {@code key}, or null if no rank has set it yet (does not wait). */
    public synchronized byte[] check(String key) {
        try {
            socket.setSoTimeout(10_000);
            out.writeByte(CHECK);
            out.writeUTF(key);
            out.flush();
            return in.readByte() == OK ? readValue() : null;
        } catch (IOException e) {
            throw failure("check", key, e);
        }
    }

    /** Atomically adds {@code delta} to the counter {@code key} (0 if unset) and returns the new value. */
    public synchronized long add(String key, long delta) {
        try {
            socket.setSoTimeout(10_000);
            out.writeByte(ADD);
            out.writeUTF(key);
            out.writeLong(delta);
            out.flush();
            expectOk(key, "add");
            return in.readLong();
        } catch (IOException e) {
            throw failure("add", key, e);
        }
    }

    /** Convenience: {@link #set} a UTF-8 string. */
    public void setString(String key, String value) {
        set(key, value.getBytes(StandardCharsets.UTF_8));
    }

    /** Convenience: {@link #get} a UTF-8 string. */
    public String getString(String key, Duration timeout) {
        return new String(get(key, timeout), StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing to release beyond the socket
        }
    }

    private void expectOk(String key, String op) throws IOException {
        if (in.readByte() != OK) throw new DistributedException("store: " + op + " of key '" + key + "' was refused");
    }

    private byte[] readValue() throws IOException {
        int n = in.readInt();
        byte[] v = new byte[n];
        in.readFully(v);
        return v;
    }

    private DistributedException failure(String op, String key, IOException e) {
        String why = e instanceof SocketTimeoutException ? "no answer" : e instanceof EOFException ? "connection closed" : e.getMessage();
        return new DistributedException("store: " + op + " of key '" + key + "' at " + host + ":" + port
                + " failed (" + why + "; the store lives in rank 0, which may have died)", e);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistributedException("store: interrupted while connecting");
        }
    }

    /**
     * Starts serving a store on {@code bindAddress:port} (port 0 picks a free port) in daemon threads, one per
     * connected rank. Close the returned server to stop it.
     */
    public static Server serve(String bindAddress, int port) {
        try {
            ServerSocket ss = new ServerSocket();
            ss.setReuseAddress(true);
            ss.bind(new InetSocketAddress(InetAddress.getByName(bindAddress), port), 64);
            Server server = new Server(ss);
            Thread.ofPlatform().daemon().name("kindling-store-accept").start(server::acceptLoop);
            return server;
        } catch (IOException e) {
            throw new DistributedException("store: cannot listen on " + bindAddress + ":" + port + ": " + e.getMessage(), e);
        }
    }

    /** A running store server. */
    public static final class Server implements AutoCloseable {
        private final ServerSocket serverSocket;
        private final Map<String, byte[]> values = new HashMap<>();
        private final java.util.List<Socket> clients = new java.util.ArrayList<>();
        private volatile boolean closed;

        private Server(ServerSocket serverSocket) {
            this.serverSocket = serverSocket;
        }

        /** The port it listens on. */
        public int port() {
            return serverSocket.getLocalPort();
        }

        private void acceptLoop() {
            while (!closed) {
                try {
                    Socket s = serverSocket.accept();
                    s.setTcpNoDelay(true);
                    synchronized (clients) {
                        clients.add(s);
                    }
                    Thread.ofPlatform().daemon().name("kindling-store-conn").start(() -> serve(s));
                } catch (IOException e) {
                    if (!closed) System.err.println("store: accept failed: " + e.getMessage());
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s; var in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
                 var out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()))) {
                while (true) {
                    byte op = in.readByte();
                    String key = in.readUTF();
                    switch (op) {
                        case SET -> {
                            byte[] v = new byte[in.readInt()];
                            in.readFully(v);
                            synchronized (values) {
                                values.put(key, v);
                                values.notifyAll();
                            }
                            out.writeByte(OK);
                        }
                        case GET -> {
                            long waitMs = in.readLong();
                            byte[] v = await(key, waitMs);
                            if (v == null) out.writeByte(MISSING);
                            else {
                                out.writeByte(OK);
                                out.writeInt(v.length);
                                out.write(v);
                            }
                        }
                        case CHECK -> {
                            byte[] v;
                            synchronized (values) {
                                v = values.get(key);
                            }
                            if (v == null) out.writeByte(MISSING);
                            else {
                                out.writeByte(OK);
                                out.writeInt(v.length);
                                out.write(v);
                            }
                        }
                        case ADD -> {
                            long delta = in.readLong(), now;
                            synchronized (values) {
                                byte[] old = values.get(key);
                                now = (old == null ? 0 : java.nio.ByteBuffer.wrap(old).getLong()) + delta;
                                values.put(key, java.nio.ByteBuffer.allocate(8).putLong(now).array());
                                values.notifyAll();
                            }
                            out.writeByte(OK);
                            out.writeLong(now);
                        }
                        default -> throw new IOException("store: unknown request " + op);
                    }
                    out.flush();
                }
            } catch (EOFException e) {
                // the rank disconnected: normal at shutdown
            } catch (IOException e) {
                if (!closed) System.err.println("store: connection failed: " + e.getMessage());
            }
        }

        private byte[] await(String key, long waitMs) {
            long deadline = System.nanoTime() + waitMs * 1_000_000L;
            synchronized (values) {
                while (true) {
                    byte[] v = values.get(key);
                    if (v != null || closed) return v;
                    long left = (deadline - System.nanoTime()) / 1_000_000L;
                    if (left <= 0) return null;
                    try {
                        values.wait(left);
                    } catch (InterruptedException e) {
                        return null;
                    }
                }
            }
        }

        @Override
        public void close() {
            closed = true;
            try {
                serverSocket.close();
            } catch (IOException ignored) {
                // already closed
            }
            synchronized (clients) {
                for (Socket s : clients) try { s.close(); } catch (IOException ignored) { }
            }
            synchronized (values) {
                values.notifyAll();
            }
        }
    }
}
