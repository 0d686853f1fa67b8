// Apache Curator (Debian's libcurator-recipes-java 5.4) against Keeper: LeaderLatch,
// InterProcessMutex and CuratorCache, each across several CuratorFramework clients, in one JVM
// (JVM start-up is slow; one process runs every scenario).
//
// Usage: java CuratorScenario CONNECT_STRING ROOT [--failover]
// With --failover it ends with a scenario that prints `KILL <zkPort>` (the server its watching
// client is connected to), waits for a line KILLED on stdin, and checks that session and watches
// (persistent recursive, one-shot, CuratorCache) carried over to another server.
// Prints `RESULT {"sections": {name: {...} or {"error": "<stack trace>"}}, ...}` as its last line.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.utils.Compatibility;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class CuratorScenario {
    static String connect;
    static String root;
    static final Map<String, Object> sections = new LinkedHashMap<>();

    interface Section {
        Map<String, Object> run() throws Exception;
    }

    static void log(String msg) {
        System.err.println(java.time.LocalTime.now() + " " + msg);
        System.err.flush();
    }

    static void section(String name, Section body) {
        long t0 = System.nanoTime();
        log("section " + name + " start");
        try {
            sections.put(name, body.run());
            log("section " + name + " ok in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        } catch (Throwable t) {
            StringWriter sw = new StringWriter();
            t.printStackTrace(new PrintWriter(sw));
            System.err.println("section " + name + " FAILED:\n" + sw);
            Map<String, Object> err = new LinkedHashMap<>();
            err.put("error", sw.toString());
            sections.put(name, err);
        }
    }

    static CuratorFramework client() throws InterruptedException {
        CuratorFramework c = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(10_000)
                .connectionTimeoutMs(10_000)
                .retryPolicy(new ExponentialBackoffRetry(50, 10, 1000))
                .build();
        c.start();
        if (!c.blockUntilConnected(20, TimeUnit.SECONDS)) throw new IllegalStateException("client did not connect to " + connect);
        return c;
    }

    static void waitFor(String what, long timeoutMs, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what);
            Thread.sleep(10);
        }
    }

    /** ZooKeeper's sync: this client's server catches up with the leader before the next read. */
    static void sync(CuratorFramework c, String path) throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        c.getZookeeperClient().getZooKeeper().sync(path, (rc, p, ctx) -> done.countDown(), null);
        if (!done.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("sync " + path + " not answered in 10 s");
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String str(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    // ---- LeaderLatch ---------------------------------------------------------------------------

    static Map<String, Object> leaderLatch(List<CuratorFramework> clients) throws Exception {
        String path = root + "/latch";
        int n = clients.size();
        List<LeaderLatch> latches = new CopyOnWriteArrayList<>();
        AtomicInteger maxLeaders = new AtomicInteger();
        List<String> becameLeader = new CopyOnWriteArrayList<>();
        for (int i = 0; i < n; i++) {
            String id = "latch-" + i;
            LeaderLatch l = new LeaderLatch(clients.get(i), path, id);
            l.addListener(new LeaderLatchListener() {
                public void isLeader() {
                    becameLeader.add(id);
                }

                public void notLeader() {
                }
            });
            latches.add(l);
            l.start();
        }
        // Samples the latches that are still in the running: never two leaders at once.
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                maxLeaders.accumulateAndGet((int) latches.stream().filter(LeaderLatch::hasLeadership).count(), Math::max);
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.setDaemon(true);
        sampler.start();
        Map<String, Object> out = new LinkedHashMap<>();
        waitFor("one leader", 15_000, () -> latches.stream().filter(LeaderLatch::hasLeadership).count() == 1);
        waitFor("all participants", 15_000, () -> {
            try {
                return latches.get(0).getParticipants().size() == n;
            } catch (Exception e) {
                return false;
            }
        });
        LeaderLatch first = latches.stream().filter(LeaderLatch::hasLeadership).findFirst().get();
        List<String> agreed = new ArrayList<>();
        for (LeaderLatch l : latches) agreed.add(l.getLeader().getId());
        out.put("leaderCount", latches.stream().filter(LeaderLatch::hasLeadership).count());
        out.put("allAgreeOnLeader", agreed.stream().distinct().count() == 1 && agreed.get(0).equals(first.getId()));
        out.put("participants", first.getParticipants().size());
        // The leader closes its latch: another takes over.
        latches.remove(first);
        first.close(LeaderLatch.CloseMode.NOTIFY_LEADER);
        waitFor("a new leader", 15_000, () -> latches.stream().filter(LeaderLatch::hasLeadership).count() == 1);
        LeaderLatch second = latches.stream().filter(LeaderLatch::hasLeadership).findFirst().get();
        out.put("newLeaderDiffers", !second.getId().equals(first.getId()));
        // A leader's client session ends (the client closes without closing its latch): the
        // ephemeral latch node goes and the last one takes over.
        int secondIdx = Integer.parseInt(second.getId().substring("latch-".length()));
        latches.remove(second);
        clients.get(secondIdx).close();
        waitFor("a leader after a client closed", 15_000, () -> latches.stream().filter(LeaderLatch::hasLeadership).count() == 1);
        out.put("leaderAfterClientClosed", latches.stream().filter(LeaderLatch::hasLeadership).findFirst().get().getId());
        sampler.interrupt();
        sampler.join();
        for (LeaderLatch l : latches) l.close();
        out.put("maxSimultaneousLeaders", maxLeaders.get());
        out.put("leadersInTurn", becameLeader.size());
        return out;
    }

    // ---- InterProcessMutex ---------------------------------------------------------------------

    static Map<String, Object> mutex(List<CuratorFramework> clients) throws Exception {
        String lockPath = root + "/mutex";
        String dataPath = root + "/mutex-data";
        clients.get(0).create().creatingParentContainersIfNeeded().forPath(dataPath, bytes("0"));
        int threadsPerClient = 2;
        int rounds = 5;
        AtomicInteger holders = new AtomicInteger();
        AtomicInteger maxHolders = new AtomicInteger();
        AtomicInteger acquisitions = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(clients.size() * threadsPerClient);
        List<Future<?>> fs = new ArrayList<>();
        for (CuratorFramework c : clients) {
            for (int t = 0; t < threadsPerClient; t++) {
                fs.add(pool.submit(() -> {
                    InterProcessMutex m = new InterProcessMutex(c, lockPath);
                    for (int r = 0; r < rounds; r++) {
                        if (!m.acquire(20, TimeUnit.SECONDS)) throw new AssertionError("could not acquire the mutex in 20 s");
                        try {
                            maxHolders.accumulateAndGet(holders.incrementAndGet(), Math::max);
                            acquisitions.incrementAndGet();
                            // Unversioned read-modify-write: right only under mutual exclusion.
                            int v = Integer.parseInt(str(c.getData().forPath(dataPath)));
                            c.setData().forPath(dataPath, bytes(Integer.toString(v + 1)));
                            holders.decrementAndGet();
                        } finally {
                            m.release();
                        }
                    }
                    return null;
                }));
            }
        }
        for (Future<?> f : fs) f.get(60, TimeUnit.SECONDS);
        pool.shutdown();
        Map<String, Object> out = new LinkedHashMap<>();
        sync(clients.get(0), dataPath); // the last increment may have gone through another node
        out.put("value", Integer.parseInt(str(clients.get(0).getData().forPath(dataPath))));
        out.put("expected", clients.size() * threadsPerClient * rounds);
        out.put("acquisitions", acquisitions.get());
        out.put("maxHolders", maxHolders.get());
        // Reentrant, and exclusive between clients: a second client's attempt times out.
        InterProcessMutex a = new InterProcessMutex(clients.get(0), lockPath);
        InterProcessMutex b = new InterProcessMutex(clients.get(1), lockPath);
        a.acquire();
        a.acquire();
        out.put("reentrant", a.isAcquiredInThisProcess());
        out.put("otherClientTimesOut", !b.acquire(300, TimeUnit.MILLISECONDS));
        a.release();
        out.put("stillHeldAfterOneRelease", !b.acquire(200, TimeUnit.MILLISECONDS));
        a.release();
        out.put("otherClientGetsIt", b.acquire(10, TimeUnit.SECONDS));
        b.release();
        // The lock's parent is a container (creatingParentContainersIfNeeded): it may already
        // have been reaped now that it is empty, and otherwise it has no children left.
        // b released through another node: sync first. The reaper may remove the container
        // between the two reads, so NoNode counts as none left.
        sync(clients.get(0), lockPath);
        int left;
        try {
            left = clients.get(0).getChildren().forPath(lockPath).size();
        } catch (KeeperException.NoNodeException e) {
            left = 0;
        }
        out.put("lockNodesLeft", left);
        return out;
    }

    // ---- CuratorCache --------------------------------------------------------------------------

    static boolean cacheHas(CuratorCache cache, String path, String data) {
        return cache.get(path).map(d -> data.equals(str(d.getData()))).orElse(false);
    }

    static Map<String, Object> cache(List<CuratorFramework> clients) throws Exception {
        String path = root + "/cache";
        CuratorFramework owner = clients.get(0);
        owner.create().creatingParentsIfNeeded().forPath(path, bytes("root"));
        owner.create().forPath(path + "/before", bytes("b0"));
        List<String> events = new CopyOnWriteArrayList<>();
        CountDownLatch initialized = new CountDownLatch(1);
        CuratorCache cache = CuratorCache.build(owner, path);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreates(d -> events.add("create " + d.getPath() + " " + str(d.getData())))
                .forChanges((o, d) -> events.add("change " + d.getPath() + " " + str(o.getData()) + "->" + str(d.getData())))
                .forDeletes(d -> events.add("delete " + d.getPath()))
                .forInitialized(initialized::countDown)
                .build());
        cache.start();
        if (!initialized.await(15, TimeUnit.SECONDS)) throw new AssertionError("CuratorCache not initialized in 15 s");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("initialSize", cache.size());
        // Other clients change the tree, a level deep too (CuratorCache watches recursively).
        CuratorFramework b = clients.get(1);
        CuratorFramework c = clients.get(2);
        // Each change waits for the cache to show it before the next: CuratorCache reports a
        // change only once its own getData returns, so a change and a later delete elsewhere in
        // the tree may otherwise be reported in either order (by ZooKeeper too).
        b.create().forPath(path + "/x", bytes("x1"));
        waitFor("the cache to see x created", 15_000, () -> cacheHas(cache, path + "/x", "x1"));
        c.create().forPath(path + "/x/deep", bytes("d1"));
        waitFor("the cache to see x/deep created", 15_000, () -> cacheHas(cache, path + "/x/deep", "d1"));
        b.setData().forPath(path + "/x", bytes("x2"));
        waitFor("the cache to see x changed", 15_000, () -> cacheHas(cache, path + "/x", "x2"));
        c.setData().forPath(path + "/before", bytes("b1"));
        waitFor("the cache to see before changed", 15_000, () -> cacheHas(cache, path + "/before", "b1"));
        b.delete().forPath(path + "/x/deep");
        waitFor("the cache to see x/deep deleted", 15_000, () -> !cache.get(path + "/x/deep").isPresent());
        c.create().withMode(CreateMode.EPHEMERAL).forPath(path + "/eph", bytes("e"));
        waitFor("the cache to see eph created", 15_000, () -> cacheHas(cache, path + "/eph", "e"));
        Map<String, Object> content = new TreeMap<>();
        cache.stream().forEach((ChildData d) -> content.put(d.getPath(), str(d.getData())));
        out.put("content", content);
        // An ephemeral goes with its client's session.
        c.close();
        waitFor("the cache to see the ephemeral go", 15_000, () -> !cache.get(path + "/eph").isPresent());
        out.put("ephemeralGone", true);
        List<String> ev = new ArrayList<>(events);
        out.put("events", ev);
        cache.close();
        return out;
    }

    // ---- the ZooKeeper 3.8 Java API underneath Curator --------------------------------------------

    static String code(KeeperException.Code c) {
        return c.name();
    }

    static String errOf(Callable<?> f) {
        try {
            f.call();
            return "ok";
        } catch (KeeperException e) {
            return e.code().name();
        } catch (Exception e) {
            return e.getClass().getSimpleName();
        }
    }

    interface Callable<T> {
        T call() throws Exception;
    }

    static Map<String, Object> api(CuratorFramework cf, CuratorFramework other) throws Exception {
        ZooKeeper zk = cf.getZookeeperClient().getZooKeeper();
        ZooKeeper zk2 = other.getZookeeperClient().getZooKeeper();
        List<ACL> open = ZooDefs.Ids.OPEN_ACL_UNSAFE;
        String p = root + "-api";
        Map<String, Object> out = new LinkedHashMap<>();
        zk.create(p, bytes("r"), open, CreateMode.PERSISTENT);

        // create2: the Stat of the new node
        Stat st = new Stat();
        zk.create(p + "/c2", bytes("x"), open, CreateMode.PERSISTENT, st);
        out.put("create2", st.getVersion() == 0 && st.getCzxid() > 0 && st.getCzxid() == st.getMzxid() && st.getDataLength() == 1);

        // getEphemerals, getAllChildrenNumber, getChildren2
        zk.create(p + "/e1", new byte[0], open, CreateMode.EPHEMERAL);
        zk.create(p + "/c2/e2-", new byte[0], open, CreateMode.EPHEMERAL_SEQUENTIAL);
        zk2.create(p + "/not-mine", new byte[0], open, CreateMode.EPHEMERAL);
        sync(cf, p); // zk2's create went through another node
        List<String> eph = new ArrayList<>(zk.getEphemerals(p));
        eph.sort(null);
        out.put("ephemerals", eph);
        out.put("ephemeralsAll", zk.getEphemerals().size());
        out.put("allChildrenNumber", zk.getAllChildrenNumber(p));
        Stat pst = new Stat();
        List<String> kids = new ArrayList<>(zk.getChildren(p, false, pst));
        kids.sort(null);
        out.put("getChildren2", kids);
        out.put("getChildren2NumChildren", pst.getNumChildren());

        // multi with a check, and multiRead (a multi of reads only)
        List<OpResult> w = zk.multi(List.of(Op.check(p, 0), Op.create(p + "/m", bytes("m"), open, CreateMode.PERSISTENT), Op.setData(p + "/m", bytes("m2"), 0)));
        out.put("multi", w.stream().map(r -> r.getClass().getSimpleName()).collect(java.util.stream.Collectors.toList()));
        List<OpResult> rs = zk.multi(List.of(Op.getData(p + "/m"), Op.getChildren(p + "/c2"), Op.getData(p + "/missing")));
        List<Object> reads = new ArrayList<>();
        for (OpResult r : rs) {
            if (r instanceof OpResult.GetDataResult) reads.add("data:" + str(((OpResult.GetDataResult) r).getData()));
            else if (r instanceof OpResult.GetChildrenResult) reads.add("children:" + ((OpResult.GetChildrenResult) r).getChildren().size());
            else if (r instanceof OpResult.ErrorResult) reads.add("error:" + ((OpResult.ErrorResult) r).getErr());
        }
        out.put("multiRead", reads);

        // sync
        CountDownLatch synced = new CountDownLatch(1);
        int[] syncRc = {99};
        zk.sync(p, (rc, path, ctx) -> {
            syncRc[0] = rc;
            synced.countDown();
        }, null);
        synced.await(10, TimeUnit.SECONDS);
        out.put("syncRc", syncRc[0]);

        // addWatch PERSISTENT: fires on every change of the node and its child list, not once
        List<String> pe = new CopyOnWriteArrayList<>();
        Watcher pw = ev -> pe.add(ev.getType() + " " + ev.getPath());
        zk.addWatch(p + "/pw", pw, AddWatchMode.PERSISTENT);
        zk2.create(p + "/pw", bytes("0"), open, CreateMode.PERSISTENT);
        zk2.setData(p + "/pw", bytes("1"), -1);
        zk2.setData(p + "/pw", bytes("2"), -1);
        zk2.create(p + "/pw/kid", new byte[0], open, CreateMode.PERSISTENT);
        zk2.create(p + "/pw/kid/grandkid", new byte[0], open, CreateMode.PERSISTENT); // not watched
        waitFor("4 persistent watch events", 10_000, () -> pe.size() >= 4);
        // removeWatches for this watcher (the Java client sends checkWatches, opcode 17): no more events
        zk.removeWatches(p + "/pw", pw, Watcher.WatcherType.Any, false);
        zk2.setData(p + "/pw", bytes("3"), -1);
        Thread.sleep(200);
        out.put("persistent", new ArrayList<>(pe));
        out.put("removeMissingWatch", errOf(() -> {
            zk.removeWatches(p + "/pw", pw, Watcher.WatcherType.Any, false);
            return null;
        }));

        // addWatch PERSISTENT_RECURSIVE: every node below, no child-list events
        List<String> re = new CopyOnWriteArrayList<>();
        zk.addWatch(p + "/rw", ev -> re.add(ev.getType() + " " + ev.getPath()), AddWatchMode.PERSISTENT_RECURSIVE);
        zk2.create(p + "/rw", new byte[0], open, CreateMode.PERSISTENT);
        zk2.create(p + "/rw/a", new byte[0], open, CreateMode.PERSISTENT);
        zk2.create(p + "/rw/a/b", new byte[0], open, CreateMode.PERSISTENT);
        zk2.setData(p + "/rw/a/b", bytes("x"), -1);
        zk2.delete(p + "/rw/a/b", -1);
        waitFor("5 recursive watch events", 10_000, () -> re.size() >= 5);
        // removeAllWatches (opcode 18) ends it
        zk.removeAllWatches(p + "/rw", Watcher.WatcherType.Any, false);
        zk2.create(p + "/rw/after", new byte[0], open, CreateMode.PERSISTENT);
        Thread.sleep(200);
        out.put("recursive", new ArrayList<>(re));

        // auth, whoAmI, getACL, setACL
        List<String> who = new ArrayList<>();
        for (ClientInfo ci : zk.whoAmI()) who.add(ci.getAuthScheme() + ":" + ci.getUser());
        out.put("whoAmI", who);
        zk.addAuthInfo("digest", bytes("alice:secret"));
        List<String> who2 = new ArrayList<>();
        for (ClientInfo ci : zk.whoAmI()) who2.add(ci.getAuthScheme() + ":" + ci.getUser());
        out.put("whoAmIAfterAuth", who2);
        String digest = DigestAuthenticationProvider.generateDigest("alice:secret");
        List<ACL> aliceOnly = new ArrayList<>(List.of(new ACL(ZooDefs.Perms.ALL, new Id("digest", digest))));
        zk.create(p + "/secret", bytes("s"), aliceOnly, CreateMode.PERSISTENT);
        Stat ast = new Stat();
        List<ACL> got = zk.getACL(p + "/secret", ast);
        out.put("getACL", got.size() == 1 && got.get(0).getId().getScheme().equals("digest") && got.get(0).getId().getId().equals(digest) && got.get(0).getPerms() == ZooDefs.Perms.ALL);
        out.put("aversion0", ast.getAversion());
        out.put("setACLStale", errOf(() -> zk.setACL(p + "/secret", open, 3)));
        Stat after = zk.setACL(p + "/secret", ZooDefs.Ids.READ_ACL_UNSAFE, 0);
        out.put("setACLAversion", after.getAversion());
        List<ACL> got2 = zk.getACL(p + "/secret", new Stat());
        out.put("getACLAfterSet", got2.size() == 1 && got2.get(0).getId().getScheme().equals("world") && got2.get(0).getPerms() == ZooDefs.Perms.READ);
        // ACLs are enforced: a client without alice's credentials may not write or read a node
        // that only alice may touch, while alice may.
        zk.create(p + "/alice", bytes("a"), aliceOnly, CreateMode.PERSISTENT);
        out.put("unauthenticatedWrite", errOf(() -> zk2.setData(p + "/alice", bytes("mallory"), -1)));
        out.put("unauthenticatedRead", errOf(() -> zk2.getData(p + "/alice", false, null)));
        out.put("authenticatedWrite", errOf(() -> zk.setData(p + "/alice", bytes("alice"), -1)));
        return out;
    }

    static Map<String, Object> reaper(CuratorFramework cf) throws Exception {
        ZooKeeper zk = cf.getZookeeperClient().getZooKeeper();
        List<ACL> open = ZooDefs.Ids.OPEN_ACL_UNSAFE;
        String p = root + "-reaper";
        zk.create(p, new byte[0], open, CreateMode.PERSISTENT);
        Map<String, Object> out = new LinkedHashMap<>();

        // containers: created, and reaped by the leader once their last child is gone
        zk.create(p + "/cont", new byte[0], open, CreateMode.CONTAINER);
        zk.create(p + "/cont/kid", new byte[0], open, CreateMode.PERSISTENT);
        zk.delete(p + "/cont/kid", -1);
        long t0 = System.currentTimeMillis();
        waitFor("the empty container to be reaped", 20_000, () -> {
            try {
                return zk.exists(p + "/cont", false) == null;
            } catch (Exception e) {
                return false;
            }
        });
        out.put("containerReapedMs", System.currentTimeMillis() - t0);
        // TTL nodes: created with createTTL, removed once unchanged and childless for their TTL
        Stat tst = new Stat();
        zk.create(p + "/ttl", bytes("t"), open, CreateMode.PERSISTENT_WITH_TTL, tst, 500);
        out.put("ttlCreated", tst.getVersion() == 0);
        t0 = System.currentTimeMillis();
        waitFor("the TTL node to expire", 20_000, () -> {
            try {
                return zk.exists(p + "/ttl", false) == null;
            } catch (Exception e) {
                return false;
            }
        });
        out.put("ttlExpiredMs", System.currentTimeMillis() - t0);
        return out;
    }

    // ---- failover: the node a client is connected to is SIGKILLed ------------------------------

    /** The port of the server a ZooKeeper handle is connected to, from its toString(). */
    static int remotePort(ZooKeeper zk) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("remoteserver:\\S*:(\\d+)").matcher(zk.toString());
        if (!m.find()) throw new IllegalStateException("no remoteserver in " + zk);
        return Integer.parseInt(m.group(1));
    }

    static Map<String, Object> failover(BufferedReader stdin) throws Exception {
        CuratorFramework watching = client();
        CuratorFramework writer = client();
        try {
            ZooKeeper zk = watching.getZookeeperClient().getZooKeeper();
            String p = root + "-failover";
            writer.create().forPath(p, bytes("0"));
            List<String> recursive = new CopyOnWriteArrayList<>();
            List<String> oneShot = new CopyOnWriteArrayList<>();
            zk.addWatch(p, ev -> {
                if (ev.getType() != Watcher.Event.EventType.None) recursive.add(ev.getType() + " " + ev.getPath());
            }, AddWatchMode.PERSISTENT_RECURSIVE);
            zk.getData(p, ev -> {
                // (a standard watcher also gets the connection's state changes: type None)
                if (ev.getType() != Watcher.Event.EventType.None) oneShot.add(ev.getType() + " " + ev.getPath());
            }, null);
            CuratorCache cache = CuratorCache.build(watching, p);
            CountDownLatch initialized = new CountDownLatch(1);
            cache.listenable().addListener(CuratorCacheListener.builder().forInitialized(initialized::countDown).build());
            cache.start();
            initialized.await(15, TimeUnit.SECONDS);
            writer.create().forPath(p + "/before");
            waitFor("the watch to see /before", 10_000, () -> recursive.contains("NodeCreated " + p + "/before"));
            List<String> states = new CopyOnWriteArrayList<>();
            watching.getConnectionStateListenable().addListener((c, st) -> states.add(st.name()));
            long session = zk.getSessionId();
            int port = remotePort(zk);
            System.out.println("KILL " + port);
            System.out.flush();
            String line = stdin.readLine();
            if (!"KILLED".equals(line)) throw new IllegalStateException("expected KILLED on stdin, got " + line);
            long t0 = System.currentTimeMillis();
            waitFor("RECONNECTED", 30_000, () -> states.contains("RECONNECTED"));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("reconnectMs", System.currentTimeMillis() - t0);
            ZooKeeper now = watching.getZookeeperClient().getZooKeeper();
            out.put("sameSession", now.getSessionId() == session);
            out.put("movedServer", remotePort(now) != port);
            out.put("states", new ArrayList<>(states));
            // The writer may have been on the killed node too: a read first, so that the writes
            // below go over a settled connection (a write whose reply is lost to the kill would be
            // retried by Curator and applied twice).
            if (!writer.getZookeeperClient().blockUntilConnectedOrTimedOut()) throw new IllegalStateException("writer not reconnected");
            writer.checkExists().forPath(p);
            // The watches were carried to the new server (setWatches2): changes made now arrive.
            writer.setData().forPath(p, bytes("after"));
            writer.create().creatingParentsIfNeeded().forPath(p + "/after/deep", bytes("d"));
            waitFor("the watches to see changes after the kill", 15_000, () -> recursive.contains("NodeDataChanged " + p)
                    && recursive.contains("NodeCreated " + p + "/after/deep") && !oneShot.isEmpty()
                    && cache.get(p + "/after/deep").isPresent());
            out.put("recursive", new ArrayList<>(recursive));
            out.put("oneShot", new ArrayList<>(oneShot));
            out.put("cacheSeesAfter", cache.get(p + "/after/deep").map(d -> str(d.getData())).orElse(null));
            cache.close();
            return out;
        } finally {
            watching.close();
            writer.close();
        }
    }

    // ---- tiny JSON ---------------------------------------------------------------------------

    static String json(Object o) {
        if (o == null) return "null";
        if (o instanceof String) {
            StringBuilder sb = new StringBuilder("\"");
            for (char ch : ((String) o).toCharArray()) {
                switch (ch) {
                    case '"': sb.append("\\\""); break;
                    case '\\': sb.append("\\\\"); break;
                    case '\n': sb.append("\\n"); break;
                    case '\r': sb.append("\\r"); break;
                    case '\t': sb.append("\\t"); break;
                    default:
                        if (ch < 0x20) sb.append(String.format("\\u%04x", (int) ch));
                        else sb.append(ch);
                }
            }
            return sb.append('"').toString();
        }
        if (o instanceof Number || o instanceof Boolean) return o.toString();
        if (o instanceof Map) {
            List<String> parts = new ArrayList<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) o).entrySet()) parts.add(json(String.valueOf(e.getKey())) + ":" + json(e.getValue()));
            return "{" + String.join(",", parts) + "}";
        }
        if (o instanceof List) {
            List<String> parts = new ArrayList<>();
            for (Object x : (List<?>) o) parts.add(json(x));
            return "[" + String.join(",", parts) + "]";
        }
        return json(o.toString());
    }

    public static void main(String[] args) throws Exception {
        connect = args[0];
        root = args.length > 1 ? args[1] : "/curator";
        long t0 = System.currentTimeMillis();
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("persistentWatchers", Compatibility.hasPersistentWatchers());
        meta.put("zookeeperVersion", org.apache.zookeeper.Version.getFullVersion());
        section("leaderLatch", () -> {
            List<CuratorFramework> cs = new ArrayList<>();
            for (int i = 0; i < 3; i++) cs.add(client());
            try {
                return leaderLatch(cs);
            } finally {
                for (CuratorFramework c : cs) c.close();
            }
        });
        section("mutex", () -> {
            List<CuratorFramework> cs = new ArrayList<>();
            for (int i = 0; i < 3; i++) cs.add(client());
            try {
                return mutex(cs);
            } finally {
                for (CuratorFramework c : cs) c.close();
            }
        });
        section("cache", () -> {
            List<CuratorFramework> cs = new ArrayList<>();
            for (int i = 0; i < 3; i++) cs.add(client());
            try {
                return cache(cs);
            } finally {
                for (CuratorFramework c : cs) c.close();
            }
        });
        section("api", () -> {
            CuratorFramework a = client();
            CuratorFramework b = client();
            try {
                return api(a, b);
            } finally {
                a.close();
                b.close();
            }
        });
        section("reaper", () -> {
            CuratorFramework a = client();
            try {
                return reaper(a);
            } finally {
                a.close();
            }
        });
        if (args.length > 2 && args[2].equals("--failover")) {
            BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            section("failover", () -> failover(stdin));
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("sections", sections);
        result.put("meta", meta);
        result.put("seconds", (System.currentTimeMillis() - t0) / 1000.0);
        System.out.println("RESULT " + json(result));
        System.out.flush();
        System.exit(0);
    }
}
