#include "dataplane/core/tables.h"
