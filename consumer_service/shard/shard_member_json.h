#pragma once
// GET /shard/status: how one instance describes itself to the others (its URL, the partitions the
// group assigned it, what it holds of each, whether it is draining), as JSON, and back. Each
// instance serves its own; the shard coordinator reads the others' into its ShardPicture. Pure.
#include <optional>
#include <string>
#include <string_view>

#include "consumer_service/shard/shard_map.h"

namespace saldo {

// {"url":"http://a:5000","partitions":6,"assigned":[0,3],"holds":{"0":"ready","3":"rebuilding"},
//  "draining":false}: `picture.self`'s member (an empty one while it is not among the members yet);
// "holds" names only the partitions held (not kNone), below `picture.partitions`.
std::string shard_status_json(const ShardPicture& picture);

// The member that body describes, its `holds` sized to "partitions" (kNone where not named).
// nullopt on anything malformed (not JSON, a field missing or of another type, a partition outside
// 0..partitions-1, an unknown hold, more than kMaxShardPartitions partitions); never throws.
std::optional<ShardMember> parse_shard_status(std::string_view body);

// A peer's status naming more partitions than this is refused (a topic has far fewer; bounds what a
// bad answer can make us allocate).
inline constexpr int kMaxShardPartitions = 100000;

}  // namespace saldo
