package dev.kindling.distributed;

import java.util.Map;

/**
 * A tensor-parallel module whose parameters are parts of the parameters of its single-process twin, under
 * the same names: {@link #shardLayouts()} says which part each one is. Parameters it does not list are
 * replicated.
 */
interface Sharded {
    /** Layouts of this module's split parameters, by their names relative to this module. */
    Map<String, ShardLayout> shardLayouts();
}
