#define BOOST_TEST_MODULE mmap_manager_actor_test
#include <boost/test/unit_test.hpp>
BOOST_AUTO_TEST_CASE(placeholder) {}
