package dev.kindling.distributed;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A {@link ProcessGroup} over TCP: the ranks form a ring, each holding one connection to the next rank (to
 * send) and one from the previous rank (to receive), found through a {@link TcpStore}.
 *
 * <p>All-reduce is a ring reduce-scatter followed by a ring all-gather: each rank sends and receives
 * {@code 2 (n - 1) / n} times the buffer, the bandwidth-optimal cost. Both phases stream: a rank forwards
 * every byte as soon as it has received and reduced it, so a large buffer flows through the ring like a
 * pipeline instead of step by step, and the wait is one event loop over both sockets (no extra threads).
 * Data is copied once into a direct buffer and once back; the socket reads and writes go straight to and
 * from that buffer (all-gather data is received in place), and sums are plain loops over heap copies
 * ({@link Reduction}). Small
 * all-reduces (up to 64 KiB over all ranks) take a direct path instead: each rank's whole buffer goes once
 * around the ring and every rank reduces the n copies itself, half the hops of the ring algorithm.
 *
 * <p>Ranks on one host (all of them) move the data through a shared memory-mapped file instead, and the
 * ring carries only a doorbell per step ({@link SharedMemoryCollectives}): the same collectives, timeouts
 * and failure reports, without the socket copies. The environment variable {@code KINDLING_DIST_SHM=0} (or
 * {@code -Dkindling.dist.shm=false}) keeps a group on TCP; {@code -Dkindling.dist.shmBytes} sizes the file
 * (32 MiB by default).
 *
 * <p>Failures: a collective fails when a neighbour closes its connection or when no byte moves for
 * {@link #timeout()}. The failing rank then closes its own connections — so the failure runs around the
 * ring in milliseconds instead of each rank waiting out its timeout — and records itself in the store; a
 * short grace later (at most 2 s) it throws a {@link DistributedException} naming the ranks that did not
 * report, i.e. those that died or stalled.
 */
public final class TcpProcessGroup implements ProcessGroup {
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    private static final int MAGIC = 0x4b444e47; // "KDNG": refuse strangers that connect to the port
    private static final int SCRATCH_BYTES = 1 << 20;
    /**
     * All-reduces of at most this many floats summed over the ranks take the small-message path (64 KiB by
     * default; the system property {@code kindling.allreduce.smallFloats} changes it, 0 turns the path off,
     * so that benchmarks can compare both paths).
     */
    static final int SMALL_FLOATS = Integer.getInteger("kindling.allreduce.smallFloats", 16 << 10);

    private final int rank, worldSize;
    private Duration timeout;
    private final TcpStore store;
    private final TcpStore.Server ownedServer;
    private boolean ownsStore;
    private final ServerSocketChannel listener;
    private SocketChannel toNext, fromPrev;
    private Selector selector;
    private SelectionKey nextKey, prevKey;
    private ByteBuffer work;
    private MemorySegment workSeg;
    private FloatBuffer workFloats;
    private ByteBuffer sendView, recvView; // reusable windows on work: no buffer object per socket call
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(SCRATCH_BYTES).order(ORDER);
    private final MemorySegment scratchSeg = MemorySegment.ofBuffer(scratch);
    private final float[] stageIn = new float[SCRATCH_BYTES / 4], stageAcc = new float[SCRATCH_BYTES / 4];
    private long seq;
    private String brokenBy;
    private SharedSlots slots;
    private SharedMemoryCollectives shm;

    /**
     * Whether groups whose ranks all run on this host move data through shared memory: on unless the
     * system property {@code kindling.dist.shm} or else the environment variable {@code KINDLING_DIST_SHM}
     * is {@code 0} or {@code false}.
     */
    static boolean sharedMemoryByDefault() {
        String prop = System.getProperty("kindling.dist.shm");
        return parseSwitch(prop != null ? "kindling.dist.shm" : "KINDLING_DIST_SHM",
                prop != null ? prop : System.getenv().getOrDefault("KINDLING_DIST_SHM", "1"));
    }

    static boolean parseSwitch(String name, String value) {
        return switch (value.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "1", "true" -> true;
            case "0", "false" -> false;
            default -> throw new IllegalArgumentException("process group: " + name + " must be 0, 1, true or false, got '" + value + "'");
        };
    }

    /** Default size of the shared file (both slot sets of all ranks); {@code kindling.dist.shmBytes} changes it. */
    static final long SHM_BYTES = 32L << 20;

    static long sharedBytesSetting(String value) {
        long v;
        try {
            v = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            v = -1;
        }
        if (v < 64 << 10)
            throw new IllegalArgumentException("process group: kindling.dist.shmBytes must be a byte count of at least 65536, got '" + value + "'");
        return v;
    }

    /**
     * Joins the group of {@code worldSize} ranks that rendezvous through {@code store}, listening for the
     * previous rank on {@code host} (the address the other ranks reach this one at), and waiting at most
     * {@code timeout} for the others to show up. The store is borrowed: closing the group does not close it.
     */
    public TcpProcessGroup(TcpStore store, int rank, int worldSize, String host, Duration timeout) {
        this(store, null, rank, worldSize, host, timeout, defaultSharedBytes());
    }

    /**
     * As the public constructor, with the size of the shared-memory file same-host ranks may use (0: TCP
     * only), so that tests cover both transports and chunking.
     */
    TcpProcessGroup(TcpStore store, int rank, int worldSize, String host, Duration timeout, long sharedMemoryBytes) {
        this(store, null, rank, worldSize, host, timeout, sharedMemoryBytes);
    }

    private TcpProcessGroup(TcpStore store, TcpStore.Server ownedServer, int rank, int worldSize, String host, Duration timeout) {
        this(store, ownedServer, rank, worldSize, host, timeout, defaultSharedBytes());
    }

    private static long defaultSharedBytes() {
        return sharedMemoryByDefault() ? sharedBytesSetting(System.getProperty("kindling.dist.shmBytes", Long.toString(SHM_BYTES))) : 0;
    }

    private TcpProcessGroup(TcpStore store, TcpStore.Server ownedServer, int rank, int worldSize, String host, Duration timeout,
                            long sharedMemoryBytes) {
        if (worldSize < 1 || rank < 0 || rank >= worldSize)
            throw new IllegalArgumentException("process group: rank " + rank + " is not in [0, " + worldSize + ")");
        if (timeout.isNegative() || timeout.isZero())
            throw new IllegalArgumentException("process group: timeout must be positive, got " + timeout);
        this.rank = rank;
        this.worldSize = worldSize;
        this.timeout = timeout;
        this.store = store;
        this.ownedServer = ownedServer;
        if (worldSize == 1) {
            listener = null;
            return;
        }
        try {
            listener = ServerSocketChannel.open();
            listener.bind(new InetSocketAddress(InetAddress.getByName(host), 0), worldSize);
            int port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
            store.setString("addr/" + rank, host + ":" + port);
            connectRing();
            slots = SharedSlots.join(store, rank, worldSize, sharedMemoryBytes > 0, sharedMemoryBytes, timeout);
            if (slots != null) shm = new SharedMemoryCollectives(slots, this::doorbell);
        } catch (IOException e) {
            closeChannels();
            throw new DistributedException("rendezvous (rank " + rank + " of " + worldSize + "): " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeChannels();
            throw e;
        }
    }

    /**
     * Joins the group described by environment variables the way torchrun sets them: {@code MASTER_ADDR}
     * (default 127.0.0.1), {@code MASTER_PORT}, {@code RANK}, {@code WORLD_SIZE} (default 1), plus
     * {@code KINDLING_DIST_TIMEOUT} in seconds (default 120). Rank 0 serves the store on
     * MASTER_ADDR:MASTER_PORT. Ranks listen on MASTER_ADDR when it is a loopback address, else on this
     * host's address ({@code KINDLING_HOST} overrides).
     */
    public static TcpProcessGroup fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    static TcpProcessGroup fromEnvironment(Map<String, String> env) {
        int worldSize = intVar(env, "WORLD_SIZE", 1);
        int rank = intVar(env, "RANK", 0);
        Duration timeout = Duration.ofSeconds(intVar(env, "KINDLING_DIST_TIMEOUT", 120));
        if (worldSize == 1) return new TcpProcessGroup(null, null, rank, 1, "127.0.0.1", timeout);
        String master = env.getOrDefault("MASTER_ADDR", "127.0.0.1");
        if (!env.containsKey("MASTER_PORT"))
            throw new IllegalArgumentException("process group: WORLD_SIZE is " + worldSize + " but MASTER_PORT is not set");
        int port = intVar(env, "MASTER_PORT", 0);
        String host = env.get("KINDLING_HOST");
        try {
            if (host == null)
                host = InetAddress.getByName(master).isLoopbackAddress() ? master : InetAddress.getLocalHost().getHostAddress();
        } catch (IOException e) {
            throw new DistributedException("process group: cannot resolve MASTER_ADDR '" + master + "': " + e.getMessage(), e);
        }
        TcpStore.Server server = rank == 0 ? TcpStore.serve(master, port) : null;
        try {
            TcpStore store = new TcpStore(master, port, timeout);
            TcpProcessGroup g = new TcpProcessGroup(store, server, rank, worldSize, host, timeout);
            g.ownsStore = true;
            return g;
        } catch (RuntimeException e) {
            if (server != null) server.close();
            throw e;
        }
    }

    /**
     * An all-gather of one string per rank, supplied by whatever already connects the ranks (a Spark barrier
     * stage's {@code BarrierTaskContext.allGather}, an MPI launcher, a job scheduler): given this rank's
     * message it returns every rank's message, in rank order. Every rank calls it once, together.
     */
    @FunctionalInterface
    public interface AllGather {
        List<String> allGather(String message);
    }

    /**
     * Joins a group of {@code worldSize} ranks without a known store address: rank 0 serves a {@link TcpStore}
     * on {@code host} (a free port), the ranks exchange its address through {@code exchange}, and all of them
     * then rendezvous through that store. The group owns the store: closing it stops rank 0's server.
     *
     * @param host the address the other ranks reach this rank at (its store, on rank 0, and its ring listener)
     * @throws DistributedException if rank 0's message is not a store address or a peer does not show up
     */
    public static TcpProcessGroup rendezvous(AllGather exchange, int rank, int worldSize, String host, Duration timeout) {
        if (worldSize < 1 || rank < 0 || rank >= worldSize)
            throw new IllegalArgumentException("process group: rank " + rank + " is not in [0, " + worldSize + ")");
        if (worldSize == 1) return new TcpProcessGroup(null, null, 0, 1, host, timeout);
        TcpStore.Server server = rank == 0 ? TcpStore.serve(host, 0) : null;
        try {
            List<String> all = exchange.allGather(server == null ? "" : host + ":" + server.port());
            if (all.size() != worldSize)
                throw new DistributedException("rendezvous: the all-gather returned " + all.size() + " messages for " + worldSize + " ranks");
            String addr = all.get(0);
            int colon = addr.lastIndexOf(':');
            int port;
            try {
                port = Integer.parseInt(addr.substring(colon + 1));
            } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                throw new DistributedException("rendezvous: rank 0 sent '" + addr + "', not a host:port store address");
            }
            TcpStore store = new TcpStore(addr.substring(0, colon), port, timeout);
            try {
                TcpProcessGroup g = new TcpProcessGroup(store, server, rank, worldSize, host, timeout);
                g.ownsStore = true;
                return g;
            } catch (RuntimeException e) {
                store.close();
                throw e;
            }
        } catch (RuntimeException e) {
            if (server != null) server.close();
            throw e;
        }
    }

    private static int intVar(Map<String, String> env, String name, int dflt) {
        String v = env.get(name);
        if (v == null) return dflt;
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("process group: environment variable " + name + " must be an integer, got '" + v + "'");
        }
    }

    // ---------------------------------------------------------------- rendezvous

    private void connectRing() throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int next = (rank + 1) % worldSize;
        String addr = store.getString("addr/" + next, timeout);
        int colon = addr.lastIndexOf(':');
        toNext = SocketChannel.open();
        // connect before accepting: the peer's listener is already bound, so the kernel queues us even if
        // the peer is still busy connecting to its own next rank
        toNext.socket().connect(new InetSocketAddress(addr.substring(0, colon), Integer.parseInt(addr.substring(colon + 1))),
                (int) Math.max(1, timeout.toMillis()));
        configure(toNext);
        ByteBuffer hello = ByteBuffer.allocate(8).order(ORDER).putInt(MAGIC).putInt(rank).flip();
        while (hello.hasRemaining()) toNext.write(hello);

        selector = Selector.open();
        listener.configureBlocking(false);
        SelectionKey acceptKey = listener.register(selector, SelectionKey.OP_ACCEPT);
        int prev = (rank + worldSize - 1) % worldSize;
        while (fromPrev == null) {
            long left = deadline - System.nanoTime();
            if (left <= 0)
                throw new DistributedException("rendezvous: rank " + rank + " waited " + timeout.toMillis()
                        + " ms for rank " + prev + " to connect");
            selector.select(Math.max(1, left / 1_000_000));
            selector.selectedKeys().clear();
            SocketChannel c = listener.accept();
            if (c == null) continue;
            configure(c);
            ByteBuffer in = ByteBuffer.allocate(8).order(ORDER);
            c.configureBlocking(false);
            SelectionKey k = c.register(selector, SelectionKey.OP_READ);
            while (in.hasRemaining()) {
                if (c.read(in) < 0) break;
                if (in.hasRemaining()) {
                    long l = deadline - System.nanoTime();
                    if (l <= 0) break;
                    selector.select(Math.max(1, l / 1_000_000));
                    selector.selectedKeys().clear();
                }
            }
            k.cancel();
            selector.selectNow();
            in.flip();
            if (in.remaining() == 8 && in.getInt() == MAGIC && in.getInt() == prev) fromPrev = c;
            else c.close(); // not our previous rank (a stray connection): keep waiting
        }
        acceptKey.cancel();
        selector.selectNow();
        listener.close(); // the ring is complete; nobody else may connect
        toNext.configureBlocking(false);
        nextKey = toNext.register(selector, 0);
        prevKey = fromPrev.register(selector, 0);
    }

    private static void configure(SocketChannel c) throws IOException {
        c.setOption(StandardSocketOptions.TCP_NODELAY, true);
        c.setOption(StandardSocketOptions.SO_SNDBUF, 1 << 20);
        c.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 20);
    }

    // ---------------------------------------------------------------- ProcessGroup

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return worldSize;
    }

    @Override
    public Duration timeout() {
        return timeout;
    }

    /** Changes the timeout of later collectives. */
    public void setTimeout(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero())
            throw new IllegalArgumentException("process group: timeout must be positive, got " + timeout);
        this.timeout = timeout;
    }

    @Override
    public void allReduce(float[] buf, int off, int len, ReduceOp op) {
        allReduce("allReduce", buf, off, len, op);
    }

    private void allReduce(String name, float[] buf, int off, int len, ReduceOp op) {
        check(name, buf, off, len);
        if (worldSize == 1) return;
        if (shm != null) {
            shm.allReduce(name, buf, off, len, op, SMALL_FLOATS);
            return;
        }
        if ((long) len * worldSize <= SMALL_FLOATS) {
            allReduceSmall(name, buf, off, len, op);
            return;
        }
        copyIn(buf, off, 0, len);
        ring(name, len, 0, 2 * worldSize - 2, op);
        copyOut(buf, off, 0, len);
    }

    /**
     * The small-message path: every rank's whole region goes around the ring once (an all-gather of the n
     * regions, n - 1 hops instead of the ring all-reduce's 2 (n - 1)), then each rank combines the n copies
     * itself, in rank order, so that every rank gets the same bits. It moves (n - 1) x the region instead of
     * 2 (n - 1) / n x, which is cheaper while latency, not bandwidth, dominates: up to
     * {@link #SMALL_FLOATS} floats over all ranks.
     */
    private void allReduceSmall(String name, float[] buf, int off, int len, ReduceOp op) {
        int n = worldSize;
        ensureWork(n * len);
        copyIn(buf, off, rank * len, len);
        ring(name, n * len, n - 1, 2 * n - 2, ReduceOp.SUM); // the all-gather half of the ring: no reduction
        // rank order on every rank, so that all get the same bits
        copyOut(buf, off, 0, len);
        float[] other = stageIn.length >= len ? stageIn : new float[len];
        for (int r = 1; r < n; r++) {
            MemorySegment.copy(workSeg, LE_FLOAT, 4L * r * len, other, 0, len);
            Reduction.combine(op, buf, off, other, 0, len);
        }
        Reduction.scale(buf, off, len, Reduction.finalScale(op, n));
    }

    @Override
    public void reduceScatter(float[] buf, int off, int len, ReduceOp op) {
        check("reduceScatter", buf, off, len);
        if (worldSize == 1) return;
        if (shm != null) {
            shm.reduceScatter("reduceScatter", buf, off, len, op);
            return;
        }
        copyIn(buf, off, 0, len);
        ring("reduceScatter", len, 0, worldSize - 1, op);
        int s = ProcessGroup.shardStart(len, worldSize, rank);
        copyOut(buf, off + s, s, ProcessGroup.shardLength(len, worldSize, rank));
    }

    @Override
    public void allGather(float[] buf, int off, int len) {
        check("allGather", buf, off, len);
        if (worldSize == 1) return;
        if (shm != null) {
            shm.allGather("allGather", buf, off, len);
            return;
        }
        ensureWork(len);
        int s = ProcessGroup.shardStart(len, worldSize, rank);
        copyIn(buf, off + s, s, ProcessGroup.shardLength(len, worldSize, rank));
        ring("allGather", len, worldSize - 1, 2 * worldSize - 2, ReduceOp.SUM);
        copyOut(buf, off, 0, len);
    }

    @Override
    public void broadcast(float[] buf, int off, int len, int root) {
        check("broadcast", buf, off, len);
        if (root < 0 || root >= worldSize)
            throw new IllegalArgumentException("broadcast: root " + root + " is not a rank of a group of " + worldSize);
        if (worldSize == 1) return;
        if (shm != null) {
            shm.broadcast("broadcast", buf, off, len, root);
            return;
        }
        // a chain root -> root+1 -> ... -> root-1, streamed: each rank forwards what it has received so far
        int pos = (rank - root + worldSize) % worldSize;
        ensureWork(len);
        if (pos == 0) copyIn(buf, off, 0, len);
        int[] whole = {0}, wholeLen = {len}, none = {};
        boolean sends = pos < worldSize - 1, receives = pos > 0;
        transfer("broadcast", sends ? whole : none, sends ? wholeLen : none, receives ? whole : none,
                receives ? wholeLen : none, 0, pos == 0 ? len : 0, ReduceOp.SUM, 1f);
        if (pos != 0) copyOut(buf, off, 0, len);
    }

    @Override
    public void barrier() {
        if (shm != null) {
            check("barrier", new float[0], 0, 0);
            if (worldSize > 1) shm.barrier("barrier");
            return;
        }
        allReduce("barrier", new float[1], 0, 1, ReduceOp.SUM);
    }

    /**
     * Whether this group's collectives move their data through shared memory (every rank on this host, and
     * shared memory not turned off) rather than through the TCP ring; the ring then only carries doorbells.
     */
    @Override
    public boolean sharedMemory() {
        return shm != null;
    }

    /**
     * The shared-memory transport's synchronisation: a ring all-gather of one token per rank over the
     * sockets, so that having received n - 1 tokens every rank has arrived. A token is the rank's doorbell
     * count and a signature of the collective and its length: a rank that rings for another step or another
     * collective called something else, and the group fails naming it instead of mixing up data.
     */
    private void doorbell(String name, long step, int signature) {
        int n = worldSize;
        ensureWork(2 * n);
        float myStep = (float) (step & 0xFFFFFF), mySig = (float) (signature & 0xFFFFFF); // exact in a float
        workFloats.put(2 * rank, myStep).put(2 * rank + 1, mySig);
        ring(name, 2 * n, n - 1, 2 * n - 2, ReduceOp.SUM);
        for (int k = 0; k < n; k++) {
            float theirStep = workFloats.get(2 * k), theirSig = workFloats.get(2 * k + 1);
            if (theirStep != myStep || theirSig != mySig)
                throw fail(name, "rank " + k + " rang the shared-memory doorbell for step " + (long) theirStep + " (collective signature "
                        + (long) theirSig + ") while this rank is at step " + (long) myStep + " (signature " + (long) mySig
                        + "): the ranks did not call the same collectives with the same lengths");
        }
    }

    /** Test hook: the name the shared-memory file had (deleted once every rank mapped it), or null. */
    java.nio.file.Path sharedFile() {
        return slots == null ? null : slots.file;
    }

    @Override
    public void close() {
        closeChannels();
        if (slots != null) slots.close();
        if ((ownedServer != null || ownsStore) && store != null) store.close();
        if (ownedServer != null) ownedServer.close();
    }

    // ---------------------------------------------------------------- the ring

    private void check(String name, float[] buf, int off, int len) {
        if (off < 0 || len < 0 || off > buf.length - len)
            throw new IllegalArgumentException(name + ": region [" + off + ", " + ((long) off + len) + ") is outside a buffer of " + buf.length);
        if (brokenBy != null)
            throw new DistributedException(name + " on rank " + rank + ": the process group is broken since " + brokenBy);
        seq++;
    }

    /**
     * Ring steps {@code [from, to)} over the work buffer of {@code len} floats: at step t this rank sends
     * shard (rank - t - 1) and receives shard (rank - t - 2), adding during the first n-1 steps
     * (reduce-scatter) and overwriting after (all-gather). After step n-2 rank r holds shard r reduced.
     */
    private void ring(String name, int len, int from, int to, ReduceOp op) {
        int steps = to - from, n = worldSize;
        int[] sendStart = new int[steps], sendLen = new int[steps], recvStart = new int[steps], recvLen = new int[steps];
        for (int i = 0; i < steps; i++) {
            int t = from + i;
            int s = Math.floorMod(rank - t - 1, n), q = Math.floorMod(rank - t - 2, n);
            sendStart[i] = ProcessGroup.shardStart(len, n, s);
            sendLen[i] = ProcessGroup.shardLength(len, n, s);
            recvStart[i] = ProcessGroup.shardStart(len, n, q);
            recvLen[i] = ProcessGroup.shardLength(len, n, q);
        }
        int reduceSteps = Math.max(0, Math.min(to, n - 1) - from);
        transfer(name, sendStart, sendLen, recvStart, recvLen, reduceSteps, sendLen.length == 0 ? 0 : sendLen[0],
                op, op == ReduceOp.AVG ? 1f / n : 1f);
    }

    /**
     * Streams the send segments to the next rank and the receive segments from the previous rank, in order.
     * Receive segment i is reduced into the work buffer when {@code i < reduceSteps}, else stored. The send
     * stream may run {@code freeFloats} ahead of the processed receive stream: beyond that, what is sent is
     * what was received (ring and chain both forward the previous step's data), so each byte goes out as
     * soon as it is final. {@code lastScale} multiplies the result of the last reducing step (averaging).
     */
    private void transfer(String name, int[] sendStart, int[] sendLen, int[] recvStart, int[] recvLen,
                          int reduceSteps, int freeFloats, ReduceOp op, float lastScale) {
        int ns = sendStart.length, nr = recvStart.length;
        int si = 0, sOff = 0, ri = 0, rOff = 0, rDone = 0;
        long sent = 0, processed = 0, free = 4L * freeFloats;
        long deadline = System.nanoTime() + timeout.toNanos();
        scratch.clear();
        try {
            while (true) {
                while (si < ns && sendLen[si] == 0) si++;
                while (ri < nr && recvLen[ri] == 0) ri++;
                if (si == ns && ri == nr) return;
                boolean progress = false, blockedOnWrite = false;
                if (si < ns) {
                    int avail = (int) Math.min(4L * sendLen[si] - sOff, free + processed - sent);
                    if (avail > 0) {
                        int w;
                        try {
                            w = toNext.write(window(sendView, 4 * sendStart[si] + sOff, avail));
                        } catch (IOException e) {
                            throw fail(name, "sending to rank " + next() + " failed (" + e.getMessage() + ")");
                        }
                        if (w > 0) {
                            progress = true;
                            sOff += w;
                            sent += w;
                            if (sOff == 4 * sendLen[si]) {
                                si++;
                                sOff = 0;
                            }
                        } else blockedOnWrite = true;
                    }
                }
                if (ri < nr) {
                    int segBytes = 4 * recvLen[ri];
                    int r;
                    try {
                        if (ri < reduceSteps) {
                            scratch.limit(scratch.position() + Math.min(scratch.capacity() - scratch.position(), segBytes - rOff));
                            r = fromPrev.read(scratch);
                        } else {
                            r = fromPrev.read(window(recvView, 4 * recvStart[ri] + rOff, segBytes - rOff));
                        }
                    } catch (IOException e) {
                        throw fail(name, "receiving from rank " + prev() + " failed (" + e.getMessage() + ")");
                    }
                    if (r < 0) throw fail(name, "rank " + prev() + " closed its connection");
                    if (r > 0) {
                        progress = true;
                        rOff += r;
                        if (ri < reduceSteps) {
                            int floats = scratch.position() / 4;
                            reduce(op, 4L * recvStart[ri] + rDone, floats, ri == reduceSteps - 1 ? lastScale : 1f);
                            rDone += 4 * floats;
                            processed += 4L * floats;
                            // keep a float split across reads for the next read
                            int rest = scratch.position() - 4 * floats;
                            for (int b = 0; b < rest; b++) scratch.put(b, scratch.get(4 * floats + b));
                            scratch.clear().position(rest);
                        } else {
                            processed += r;
                            rDone = rOff;
                        }
                        if (rDone == segBytes) {
                            ri++;
                            rOff = rDone = 0;
                            scratch.clear();
                        }
                    }
                }
                if (progress) {
                    deadline = System.nanoTime() + timeout.toNanos();
                    continue;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    String waiting = blockedOnWrite ? "for rank " + next() + " to accept data" : "for data from rank " + prev();
                    throw fail(name, "no progress for " + timeout.toMillis() + " ms waiting " + waiting);
                }
                nextKey.interestOps(blockedOnWrite ? SelectionKey.OP_WRITE : 0);
                prevKey.interestOps(ri < nr ? SelectionKey.OP_READ : 0);
                selector.select(Math.max(1, left / 1_000_000));
                selector.selectedKeys().clear();
            }
        } catch (IOException e) {
            throw fail(name, "selector failed (" + e.getMessage() + ")");
        }
    }

    /**
     * work[at, at + 4 floats) op= scratch[0, 4 floats), then scaled: both sides are staged through heap arrays
     * with bulk copies, so the combining loop is the plain one of {@link Reduction}.
     */
    private void reduce(ReduceOp op, long at, int floats, float scale) {
        MemorySegment.copy(scratchSeg, LE_FLOAT, 0, stageIn, 0, floats);
        MemorySegment.copy(workSeg, LE_FLOAT, at, stageAcc, 0, floats);
        Reduction.combine(op, stageAcc, 0, stageIn, 0, floats);
        Reduction.scale(stageAcc, 0, floats, scale);
        MemorySegment.copy(stageAcc, 0, workSeg, LE_FLOAT, at, floats);
    }

    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ORDER);

    private void ensureWork(int floats) {
        long bytes = 4L * floats;
        if (bytes > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("collective: " + floats + " floats exceed the 2 GiB a single collective may move; split the buffer");
        if (work == null || work.capacity() < bytes) {
            int cap = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(bytes, work == null ? 4096 : 2L * work.capacity()));
            work = ByteBuffer.allocateDirect(cap).order(ORDER);
            workSeg = MemorySegment.ofBuffer(work);
            workFloats = work.asFloatBuffer();
            sendView = work.duplicate();
            recvView = work.duplicate();
        }
    }

    private static ByteBuffer window(ByteBuffer view, int at, int bytes) {
        return view.clear().position(at).limit(at + bytes);
    }

    private void copyIn(float[] buf, int off, int at, int len) {
        ensureWork(at + len);
        workFloats.put(at, buf, off, len);
    }

    private void copyOut(float[] buf, int off, int at, int len) {
        workFloats.get(at, buf, off, len);
    }

    private int next() {
        return (rank + 1) % worldSize;
    }

    private int prev() {
        return (rank + worldSize - 1) % worldSize;
    }

    /**
     * Breaks the group after a failed collective: closes the ring so the neighbours fail at once, records
     * this rank in the store, waits briefly for the other live ranks to do the same, and names those that
     * did not.
     */
    private DistributedException fail(String name, String localReason) {
        String where = name + " #" + seq + " on rank " + rank + " of " + worldSize;
        brokenBy = where + " failed: " + localReason;
        closeChannels();
        String key = "fail/" + seq + "/";
        List<Integer> silent = new ArrayList<>();
        String storeNote = "";
        try {
            store.setString(key + rank, localReason);
            long graceEnd = System.nanoTime() + Math.min(2_000_000_000L, timeout.toNanos());
            while (true) {
                silent.clear();
                for (int k = 0; k < worldSize; k++) if (k != rank && store.check(key + k) == null) silent.add(k);
                if (silent.isEmpty() || System.nanoTime() > graceEnd) break;
                Thread.sleep(20);
            }
        } catch (DistributedException e) {
            storeNote = "; the store on rank 0 is unreachable, so rank 0 has probably died";
            silent.clear();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        String culprit = silent.isEmpty() ? "" : (silent.size() == 1 ? "rank " + silent.get(0) + " stopped responding or died"
                : "ranks " + silent + " stopped responding or died") + "; ";
        return new DistributedException(where + " failed: " + culprit + "here: " + localReason + storeNote);
    }

    /** Test hook: drops the connections the way a crashed process's kernel does, without telling anyone. */
    void abandon() {
        closeChannels();
    }

    private void closeChannels() {
        quietly(toNext);
        quietly(fromPrev);
        quietly(selector);
        quietly(listener);
    }

    private static void quietly(java.io.Closeable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (IOException ignored) {
            // already failing or shutting down: nothing more to do with this channel
        }
    }
}
