#include "dataplane/core/pipeline.h"
